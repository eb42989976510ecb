
/*
 * ngx_http_wapress_redis_slot.h: the Redis Cluster hash slot of a key.
 * Plain C (no nginx headers), so that the unit test links it alone.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_SLOT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_SLOT_H_INCLUDED_


#include <stddef.h>


#define NGX_HTTP_WAPRESS_REDIS_SLOTS  16384


/* CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the bytes */
unsigned ngx_http_wapress_redis_crc16(const unsigned char *p, size_t len);

/*
 * The slot (0 .. 16383) as Redis computes it: CRC16 of the key modulo
 * 16384, or of its hash tag, the bytes between the first "{" and the
 * first "}" after it, when there is at least one byte between them.
 */
unsigned ngx_http_wapress_redis_slot(const unsigned char *key, size_t len);


#endif /* _NGX_HTTP_WAPRESS_REDIS_SLOT_H_INCLUDED_ */
