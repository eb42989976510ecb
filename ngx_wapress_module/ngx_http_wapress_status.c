
/*
 * ngx_http_wapress_status.c: wapress_status, the module's counters as
 * Prometheus text (text/plain; version=0.0.4, the default) or as JSON
 * (_status_json.c): "?format=json" or "?format=prometheus", else an
 * Accept header that names application/json.  docs/status.md lists the
 * metrics.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_status.h"
#include "ngx_http_wapress_cache.h"


/* a growing text in r->pool */
typedef struct {
    ngx_pool_t                      *pool;
    u_char                          *start;
    u_char                          *pos;
    u_char                          *end;
} ngx_http_wapress_status_out_t;


static ngx_int_t ngx_http_wapress_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_status_format(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_status_prometheus(ngx_http_request_t *r,
    ngx_http_wapress_stats_conf_t *scf, ngx_str_t *body);
static ngx_int_t ngx_http_wapress_status_pages(
    ngx_http_wapress_status_out_t *o, ngx_http_wapress_stats_conf_t *scf);
static ngx_int_t ngx_http_wapress_status_fragment(
    ngx_http_wapress_status_out_t *o, ngx_uint_t j, ngx_str_t *server,
    ngx_str_t *location, ngx_str_t *name, ngx_atomic_t *f);
static ngx_int_t ngx_http_wapress_status_redis(
    ngx_http_wapress_status_out_t *o, ngx_http_wapress_stats_conf_t *scf);
static ngx_int_t ngx_http_wapress_status_cache(
    ngx_http_wapress_status_out_t *o, ngx_http_wapress_stats_conf_t *scf);
static ngx_int_t ngx_http_wapress_status_printf(
    ngx_http_wapress_status_out_t *o, const char *fmt, ...);
static ngx_int_t ngx_http_wapress_status_escape(ngx_pool_t *pool,
    ngx_str_t *s, ngx_str_t *esc);


#define NGX_HTTP_WAPRESS_STATUS_PROMETHEUS  0
#define NGX_HTTP_WAPRESS_STATUS_JSON        1


/* label values, shared with _status_json.c */

const char  *ngx_http_wapress_status_codes[] = {
    "200", "404", "503", "other"
};


const char  *ngx_http_wapress_status_results[] = {
    "hit", "miss", "stale", "updating", "not_found", "error"
};


const char  *ngx_http_wapress_status_le[] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5", "1", "+Inf"
};


char *
ngx_http_wapress_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_wapress_status_handler) {
        return "is duplicate";
    }

    if (clcf->handler != NULL) {
        return "conflicts with another content handler in this location";
    }

    clcf->handler = ngx_http_wapress_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wapress_status_handler(ngx_http_request_t *r)
{
    ngx_buf_t                      *b;
    ngx_int_t                       rc, format;
    ngx_str_t                       body;
    ngx_chain_t                     out;
    ngx_http_wapress_main_conf_t   *wmcf;
    ngx_http_wapress_stats_conf_t  *scf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    format = ngx_http_wapress_status_format(r);

    if (format == NGX_ERROR) {
        return NGX_HTTP_BAD_REQUEST;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_wapress_module);
    scf = wmcf->stats;

    if (scf != NULL && scf->counters == NULL) {
        scf = NULL;
    }

    if (format == NGX_HTTP_WAPRESS_STATUS_JSON) {
        rc = ngx_http_wapress_status_json(r, scf, &body);
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        rc = ngx_http_wapress_status_prometheus(r, scf, &body);
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = body.len;

    if (body.len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body.data;
    b->last = body.data + body.len;
    b->start = b->pos;
    b->end = b->last;
    b->temporary = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* ?format= first, then an Accept header naming application/json */

static ngx_int_t
ngx_http_wapress_status_format(ngx_http_request_t *r)
{
    ngx_str_t         value;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_http_arg(r, (u_char *) "format", sizeof("format") - 1, &value)
        == NGX_OK)
    {
        if (value.len == sizeof("json") - 1
            && ngx_strncmp(value.data, "json", value.len) == 0)
        {
            return NGX_HTTP_WAPRESS_STATUS_JSON;
        }

        if (value.len == sizeof("prometheus") - 1
            && ngx_strncmp(value.data, "prometheus", value.len) == 0)
        {
            return NGX_HTTP_WAPRESS_STATUS_PROMETHEUS;
        }

        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               h[i].key.len) == 0
            && ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                (u_char *) "application/json",
                                sizeof("application/json") - 2)
               != NULL)
        {
            return NGX_HTTP_WAPRESS_STATUS_JSON;
        }
    }

    return NGX_HTTP_WAPRESS_STATUS_PROMETHEUS;
}


static ngx_int_t
ngx_http_wapress_status_prometheus(ngx_http_request_t *r,
    ngx_http_wapress_stats_conf_t *scf, ngx_str_t *body)
{
    ngx_http_wapress_status_out_t  o;

    o.pool = r->pool;
    o.start = ngx_pnalloc(r->pool, 4096);
    if (o.start == NULL) {
        return NGX_ERROR;
    }

    o.pos = o.start;
    o.end = o.start + 4096;

    if (scf != NULL
        && (ngx_http_wapress_status_pages(&o, scf) != NGX_OK
            || ngx_http_wapress_status_redis(&o, scf) != NGX_OK
            || ngx_http_wapress_status_cache(&o, scf) != NGX_OK))
    {
        return NGX_ERROR;
    }

    body->data = o.start;
    body->len = o.pos - o.start;

    return NGX_OK;
}


#define ngx_http_wapress_status_family(o, name, type, help)                   \
    ngx_http_wapress_status_printf(o, "# HELP " name " " help "\n"            \
                                   "# TYPE " name " " type "\n")


static ngx_int_t
ngx_http_wapress_status_pages(ngx_http_wapress_status_out_t *o,
    ngx_http_wapress_stats_conf_t *scf)
{
    ngx_str_t                      *lab, fname;
    ngx_uint_t                      i, k, j, n;
    ngx_atomic_t                   *c, *f;
    ngx_http_wapress_fragment_t    *frag;
    ngx_http_wapress_stats_loc_t  **sl;

    sl = scf->locations.elts;
    n = scf->locations.nelts;

    /* the server and location labels, escaped */

    lab = ngx_palloc(o->pool, 2 * (n + 1) * sizeof(ngx_str_t));
    if (lab == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_wapress_status_escape(o->pool, &sl[i]->server,
                                           &lab[2 * i])
            != NGX_OK
            || ngx_http_wapress_status_escape(o->pool, &sl[i]->location,
                                              &lab[2 * i + 1])
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_wapress_status_family(o, "wapress_pages_total", "counter",
            "Pages assembled (layout or filter), by the status sent.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        c = scf->counters + sl[i]->offset;

        for (k = 0; k < NGX_HTTP_WAPRESS_STATS_NPAGE; k++) {
            if (ngx_http_wapress_status_printf(o,
                    "wapress_pages_total{server=\"%V\",location=\"%V\","
                    "code=\"%s\"} %uA\n", &lab[2 * i], &lab[2 * i + 1],
                    ngx_http_wapress_status_codes[k], c[k])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    for (j = 0; j < 4; j++) {

        if (j == 0
            && ngx_http_wapress_status_family(o, "wapress_fragments_total",
                   "counter", "Fragments of pages, by where their value "
                   "came from or why there was none.")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (j == 1
            && ngx_http_wapress_status_family(o,
                   "wapress_fragment_defaults_total", "counter",
                   "Optional fragments that showed their default.")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (j == 2
            && ngx_http_wapress_status_family(o,
                   "wapress_fragment_errors_total", "counter",
                   "Fragments that failed, by cause.")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (j == 3
            && ngx_http_wapress_status_family(o,
                   "wapress_fragment_renderings_total", "counter",
                   "Values of json and text fragments read from Redis, by "
                   "whether the worker's memo had their rendering.")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < n; i++) {
            c = scf->counters + sl[i]->offset + NGX_HTTP_WAPRESS_STATS_NPAGE;
            frag = sl[i]->fragments ? sl[i]->fragments->elts : NULL;

            for (k = 0; k < sl[i]->nfragments; k++) {
                f = c + k * NGX_HTTP_WAPRESS_STATS_NFRAGMENT;

                if (ngx_http_wapress_status_escape(o->pool, &frag[k].name,
                                                   &fname)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                if (j == 1) {
                    if (ngx_http_wapress_status_printf(o,
                            "wapress_fragment_defaults_total{server=\"%V\","
                            "location=\"%V\",fragment=\"%V\"} %uA\n",
                            &lab[2 * i], &lab[2 * i + 1], &fname,
                            f[NGX_HTTP_WAPRESS_STATS_DEFAULT])
                        != NGX_OK)
                    {
                        return NGX_ERROR;
                    }

                    continue;
                }

                if (ngx_http_wapress_status_fragment(o, j, &lab[2 * i],
                                                     &lab[2 * i + 1], &fname,
                                                     f)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    return NGX_OK;
}


/*
 * one fragment's lines: by result (j == 0), by cause (j == 2) or by the
 * memo's answer (j == 3)
 */

static ngx_int_t
ngx_http_wapress_status_fragment(ngx_http_wapress_status_out_t *o,
    ngx_uint_t j, ngx_str_t *server, ngx_str_t *location, ngx_str_t *name,
    ngx_atomic_t *f)
{
    ngx_uint_t  k;

    if (j == 0) {
        for (k = 0; k < NGX_HTTP_WAPRESS_STATS_NRESULT; k++) {
            if (ngx_http_wapress_status_printf(o,
                    "wapress_fragments_total{server=\"%V\",location=\"%V\","
                    "fragment=\"%V\",result=\"%s\"} %uA\n", server, location,
                    name, ngx_http_wapress_status_results[k], f[k])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    if (j == 3) {
        for (k = 0; k < 2; k++) {
            if (ngx_http_wapress_status_printf(o,
                    "wapress_fragment_renderings_total{server=\"%V\","
                    "location=\"%V\",fragment=\"%V\",memo=\"%s\"} %uA\n",
                    server, location, name, k ? "miss" : "hit",
                    f[NGX_HTTP_WAPRESS_STATS_MEMO + k])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    for (k = 1; k <= NGX_HTTP_WAPRESS_STATS_NERR; k++) {
        if (ngx_http_wapress_status_printf(o,
                "wapress_fragment_errors_total{server=\"%V\",location=\"%V\","
                "fragment=\"%V\",cause=\"%V\"} %uA\n", server, location,
                name, ngx_http_wapress_stats_cause_name(k),
                f[NGX_HTTP_WAPRESS_STATS_DEFAULT + k])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_status_redis(ngx_http_wapress_status_out_t *o,
    ngx_http_wapress_stats_conf_t *scf)
{
    ngx_str_t          *name;
    ngx_uint_t          i, k, b;
    ngx_atomic_t       *c;
    ngx_atomic_uint_t   acc;

    static struct {
        const char     *name;
        const char     *type;
        const char     *help;
        ngx_uint_t      counter;
    } metrics[] = {
        { "wapress_redis_up", "gauge",
          "Workers with a ready connection to the server.",
          NGX_HTTP_WAPRESS_STATS_R_UP },
        { "wapress_redis_connects_total", "counter",
          "Connection attempts.", NGX_HTTP_WAPRESS_STATS_R_CONNECTS },
        { "wapress_redis_failures_total", "counter",
          "Failed connects, lost connections, failed AUTH or SELECT.",
          NGX_HTTP_WAPRESS_STATS_R_FAILURES },
        { "wapress_redis_commands_total", "counter",
          "Lookups sent (GET, HGET; refreshes included).",
          NGX_HTTP_WAPRESS_STATS_R_SENT },
        { "wapress_redis_replies_total", "counter",
          "Replies received to them.", NGX_HTTP_WAPRESS_STATS_R_REPLIES },
        { "wapress_redis_dropped_total", "counter",
          "Commands whose connection ended before their reply.",
          NGX_HTTP_WAPRESS_STATS_R_DROPPED },
        { "wapress_redis_commands_in_flight", "gauge",
          "Commands sent and not yet answered.",
          NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT }
    };

    name = ngx_palloc(o->pool, (scf->servers.nelts + 1) * sizeof(ngx_str_t));
    if (name == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < scf->servers.nelts; i++) {
        if (ngx_http_wapress_status_escape(o->pool, &scf->server_names[i],
                                           &name[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (k = 0; k < sizeof(metrics) / sizeof(metrics[0]); k++) {

        if (ngx_http_wapress_status_printf(o, "# HELP %s %s\n# TYPE %s %s\n",
                                           metrics[k].name, metrics[k].help,
                                           metrics[k].name, metrics[k].type)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < scf->servers.nelts; i++) {
            c = scf->counters + scf->server_offset
                + i * NGX_HTTP_WAPRESS_STATS_NSERVER;

            if (ngx_http_wapress_status_printf(o, "%s{redis=\"%V\"} %A\n",
                    metrics[k].name, &name[i],
                    (ngx_atomic_int_t) c[metrics[k].counter])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_wapress_status_family(o, "wapress_redis_round_trip_seconds",
            "histogram", "From a lookup's queueing to its reply, "
            "measured in whole milliseconds.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < scf->servers.nelts; i++) {
        c = scf->counters + scf->server_offset
            + i * NGX_HTTP_WAPRESS_STATS_NSERVER;
        acc = 0;

        for (b = 0; b < NGX_HTTP_WAPRESS_STATS_NBUCKET; b++) {
            acc += c[NGX_HTTP_WAPRESS_STATS_R_BUCKETS + b];

            if (ngx_http_wapress_status_printf(o,
                    "wapress_redis_round_trip_seconds_bucket{redis=\"%V\","
                    "le=\"%s\"} %uA\n", &name[i],
                    ngx_http_wapress_status_le[b], acc)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (ngx_http_wapress_status_printf(o,
                "wapress_redis_round_trip_seconds_sum{redis=\"%V\"} "
                "%uA.%03uA\n"
                "wapress_redis_round_trip_seconds_count{redis=\"%V\"} %uA\n",
                &name[i], c[NGX_HTTP_WAPRESS_STATS_R_RTT_SUM] / 1000,
                c[NGX_HTTP_WAPRESS_STATS_R_RTT_SUM] % 1000, &name[i], acc)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_status_cache(ngx_http_wapress_status_out_t *o,
    ngx_http_wapress_stats_conf_t *scf)
{
    ngx_str_t                        name;
    ngx_uint_t                       i, k;
    ngx_msec_t                       age;
    ngx_atomic_t                    *c;
    ngx_atomic_uint_t                v;
    ngx_http_wapress_cache_zone_t  **zone;
    ngx_http_wapress_cache_stats_t  *st;

    static struct {
        const char     *name;
        const char     *type;
        const char     *help;
    } metrics[] = {
        { "wapress_cache_size_bytes", "gauge",
          "Size of the shared memory zone." },
        { "wapress_cache_used_bytes", "gauge",
          "Bytes of the zone in use (not in free pages)." },
        { "wapress_cache_entries", "gauge", "Entries in the zone." },
        { "wapress_cache_evictions_total", "counter",
          "Entries evicted to make room, least recently used first." },
        { "wapress_cache_stale_served_total", "counter",
          "Copies older than valid= that stood in (stale, updating)." },
        { "wapress_cache_oldest_stale_age_seconds", "gauge",
          "Age of the oldest of them served in the last minute." }
    };

    zone = scf->zones.elts;

    st = ngx_palloc(o->pool, (scf->zones.nelts + 1)
                             * sizeof(ngx_http_wapress_cache_stats_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < scf->zones.nelts; i++) {
        ngx_http_wapress_cache_stats(zone[i], &st[i]);
    }

    for (k = 0; k < sizeof(metrics) / sizeof(metrics[0]); k++) {

        if (ngx_http_wapress_status_printf(o, "# HELP %s %s\n# TYPE %s %s\n",
                                           metrics[k].name, metrics[k].help,
                                           metrics[k].name, metrics[k].type)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < scf->zones.nelts; i++) {
            c = scf->counters + scf->zone_offset
                + i * NGX_HTTP_WAPRESS_STATS_NZONE;

            if (ngx_http_wapress_status_escape(o->pool,
                                       ngx_http_wapress_cache_name(zone[i]),
                                       &name)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (k == 5) {
                age = ngx_http_wapress_stats_oldest(scf, i);

                if (ngx_http_wapress_status_printf(o,
                        "%s{zone=\"%V\"} %M.%03M\n", metrics[k].name, &name,
                        age / 1000, age % 1000)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            switch (k) {
            case 0:
                v = st[i].size;
                break;
            case 1:
                v = st[i].used;
                break;
            case 2:
                v = st[i].entries;
                break;
            case 3:
                v = st[i].evictions;
                break;
            default:
                v = c[NGX_HTTP_WAPRESS_STATS_Z_STALE];
            }

            if (ngx_http_wapress_status_printf(o, "%s{zone=\"%V\"} %uA\n",
                                               metrics[k].name, &name, v)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* appends to o, doubling its buffer as needed */

static ngx_int_t
ngx_http_wapress_status_printf(ngx_http_wapress_status_out_t *o,
    const char *fmt, ...)
{
    size_t    size;
    u_char   *p, *start;
    va_list   args;

    for ( ;; ) {
        va_start(args, fmt);
        p = ngx_vslprintf(o->pos, o->end, fmt, args);
        va_end(args);

        if (p < o->end) {
            o->pos = p;
            return NGX_OK;
        }

        /* maybe cut short: again, in twice the room */

        size = 2 * (o->end - o->start);

        start = ngx_pnalloc(o->pool, size);
        if (start == NULL) {
            return NGX_ERROR;
        }

        o->pos = ngx_cpymem(start, o->start, o->pos - o->start);
        o->start = start;
        o->end = start + size;
    }
}


/* a label value: backslash, double quote and newline escaped */

static ngx_int_t
ngx_http_wapress_status_escape(ngx_pool_t *pool, ngx_str_t *s,
    ngx_str_t *esc)
{
    u_char      *p;
    ngx_uint_t   i, n;

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '\\' || s->data[i] == '"' || s->data[i] == '\n') {
            n++;
        }
    }

    if (n == 0) {
        *esc = *s;
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, s->len + n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    esc->data = p;

    for (i = 0; i < s->len; i++) {
        switch (s->data[i]) {

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        case '\\':
        case '"':
            *p++ = '\\';
            /* fall through */

        default:
            *p++ = s->data[i];
        }
    }

    esc->len = p - esc->data;

    return NGX_OK;
}
