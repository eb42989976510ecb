
/*
 * t/unit/redis_slot.c: ngx_http_wapress_redis_slot() against the Redis
 * Cluster specification's examples and the slots a real Redis 7.0 gave
 * for the same keys (CLUSTER KEYSLOT), hash tags included.  TAP.
 */


#include <stdio.h>
#include <string.h>

#include <ngx_http_wapress_redis_slot.h>


typedef struct {
    const char  *key;
    unsigned     slot;
    const char  *why;
} ngx_http_wapress_slot_test_t;


static ngx_http_wapress_slot_test_t  tests[] = {
    { "123456789", 12739, "the spec's CRC16 check value 0x31C3 mod 16384" },
    { "foo", 12182, "a plain key" },
    { "bar", 5061, "a plain key" },
    { "hello", 866, "a plain key" },
    { "", 0, "the empty key" },
    { "user1000", 3443, "the tag's own slot" },
    { "{user1000}.following", 3443, "a tag: only user1000 is hashed" },
    { "{user1000}.followers", 3443, "the same tag, the same slot" },
    { "foo{}{bar}", 8363, "an empty tag first: the whole key" },
    { "foo{{bar}}zap", 4015, "the tag is \"{bar\"" },
    { "{bar", 4015, "no \"}\": the whole key" },
    { "foo{bar}{zap}", 5061, "the first tag only: \"bar\"" },
    { "{}", 15257, "only an empty tag: the whole key" },
    { "a{b", 13340, "an open tag: the whole key" },
    { "article:niger-junta-revokes-eu-security-agreements", 16272,
      "the example page's article" },
    { "comments:niger-junta-revokes-eu-security-agreements", 6233,
      "the example page's comments" },
    { "features:home", 962, "the example page's features" },
    { "rates:USD", 12269, "the example page's rates" },
    { "history:today", 13897, "the example page's history" },
    { "{niger}:article", 2080, "a tagged key" },
};


int
main(void)
{
    size_t    i, n;
    unsigned  slot, crc;
    int       failed;

    n = sizeof(tests) / sizeof(tests[0]);
    failed = 0;

    printf("1..%zu\n", n + 1);

    crc = ngx_http_wapress_redis_crc16((const unsigned char *) "123456789",
                                       9);
    printf("%s 1 - CRC16(\"123456789\") is 0x31c3 (got 0x%04x)\n",
           crc == 0x31c3 ? "ok" : "not ok", crc);
    failed |= crc != 0x31c3;

    for (i = 0; i < n; i++) {
        slot = ngx_http_wapress_redis_slot(
                   (const unsigned char *) tests[i].key,
                   strlen(tests[i].key));

        printf("%s %zu - \"%s\" is in slot %u (got %u): %s\n",
               slot == tests[i].slot ? "ok" : "not ok", i + 2, tests[i].key,
               tests[i].slot, slot, tests[i].why);

        failed |= slot != tests[i].slot;
    }

    return failed;
}
