
/*
 * ngx_http_wapress_status_json.c: wapress_status's JSON, built with
 * jansson: {"locations": [...], "redis": [...], "cache": [...]}, the
 * same numbers as the Prometheus text (docs/status.md).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_status.h"
#include "ngx_http_wapress_cache.h"


static json_t *ngx_http_wapress_status_json_locations(
    ngx_http_wapress_stats_conf_t *scf);
static json_t *ngx_http_wapress_status_json_redis(
    ngx_http_wapress_stats_conf_t *scf);
static json_t *ngx_http_wapress_status_json_cache(
    ngx_http_wapress_stats_conf_t *scf);
static json_t *ngx_http_wapress_status_string(ngx_str_t *s);
static int ngx_http_wapress_status_set(json_t *obj, const char *key,
    json_t *value);


/* the body, in r->pool; scf is NULL when no location has pages */

ngx_int_t
ngx_http_wapress_status_json(ngx_http_request_t *r,
    ngx_http_wapress_stats_conf_t *scf, ngx_str_t *body)
{
    size_t   len;
    json_t  *root;

    root = json_object();
    if (root == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_wapress_status_set(root, "locations",
            scf ? ngx_http_wapress_status_json_locations(scf) : json_array())
        != 0
        || ngx_http_wapress_status_set(root, "redis",
               scf ? ngx_http_wapress_status_json_redis(scf) : json_array())
           != 0
        || ngx_http_wapress_status_set(root, "cache",
               scf ? ngx_http_wapress_status_json_cache(scf) : json_array())
           != 0)
    {
        json_decref(root);
        return NGX_ERROR;
    }

    len = json_dumpb(root, NULL, 0, JSON_COMPACT);

    body->data = ngx_pnalloc(r->pool, len + 1);
    if (len == 0 || body->data == NULL) {
        json_decref(root);
        return NGX_ERROR;
    }

    body->len = json_dumpb(root, (char *) body->data, len, JSON_COMPACT);
    body->data[body->len++] = '\n';

    json_decref(root);

    return NGX_OK;
}


static json_t *
ngx_http_wapress_status_json_locations(ngx_http_wapress_stats_conf_t *scf)
{
    ngx_uint_t                      i, j, k;
    json_t                         *list, *loc, *obj, *frags, *fr, *errs;
    json_t                         *memo;
    ngx_atomic_t                   *c, *f;
    ngx_http_wapress_fragment_t    *frag;
    ngx_http_wapress_stats_loc_t  **sl;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    sl = scf->locations.elts;

    for (i = 0; i < scf->locations.nelts; i++) {
        c = scf->counters + sl[i]->offset;

        loc = json_object();
        if (json_array_append_new(list, loc) != 0) {
            goto failed;
        }

        obj = json_object();

        if (ngx_http_wapress_status_set(loc, "server",
                ngx_http_wapress_status_string(&sl[i]->server)) != 0
            || ngx_http_wapress_status_set(loc, "location",
                   ngx_http_wapress_status_string(&sl[i]->location)) != 0
            || ngx_http_wapress_status_set(loc, "layout",
                   sl[i]->layout.len
                   ? ngx_http_wapress_status_string(&sl[i]->layout)
                   : json_null()) != 0
            || ngx_http_wapress_status_set(loc, "pages", obj) != 0)
        {
            goto failed;
        }

        for (k = 0; k < NGX_HTTP_WAPRESS_STATS_NPAGE; k++) {
            if (ngx_http_wapress_status_set(obj,
                    ngx_http_wapress_status_codes[k], json_integer(c[k]))
                != 0)
            {
                goto failed;
            }
        }

        frags = json_array();
        if (ngx_http_wapress_status_set(loc, "fragments", frags) != 0) {
            goto failed;
        }

        frag = sl[i]->fragments ? sl[i]->fragments->elts : NULL;

        for (j = 0; j < sl[i]->nfragments; j++) {
            f = c + NGX_HTTP_WAPRESS_STATS_NPAGE
                + j * NGX_HTTP_WAPRESS_STATS_NFRAGMENT;

            fr = json_object();
            errs = json_object();

            if (json_array_append_new(frags, fr) != 0
                || ngx_http_wapress_status_set(fr, "name",
                       ngx_http_wapress_status_string(&frag[j].name)) != 0
                || ngx_http_wapress_status_set(fr, "defaults",
                       json_integer(f[NGX_HTTP_WAPRESS_STATS_DEFAULT])) != 0
                || ngx_http_wapress_status_set(fr, "errors", errs) != 0)
            {
                goto failed;
            }

            /* renderings: from the memo, made anew */

            memo = json_object();

            if (ngx_http_wapress_status_set(fr, "memo", memo) != 0
                || ngx_http_wapress_status_set(memo, "hit",
                       json_integer(f[NGX_HTTP_WAPRESS_STATS_MEMO])) != 0
                || ngx_http_wapress_status_set(memo, "miss",
                       json_integer(f[NGX_HTTP_WAPRESS_STATS_MEMO + 1])) != 0)
            {
                goto failed;
            }

            for (k = 0; k < NGX_HTTP_WAPRESS_STATS_NRESULT; k++) {
                if (ngx_http_wapress_status_set(fr,
                        ngx_http_wapress_status_results[k],
                        json_integer(f[k]))
                    != 0)
                {
                    goto failed;
                }
            }

            for (k = 1; k <= NGX_HTTP_WAPRESS_STATS_NERR; k++) {
                if (json_object_setn_new(errs,
                        (char *) ngx_http_wapress_stats_cause_name(k)->data,
                        ngx_http_wapress_stats_cause_name(k)->len,
                        json_integer(f[NGX_HTTP_WAPRESS_STATS_DEFAULT + k]))
                    != 0)
                {
                    goto failed;
                }
            }
        }
    }

    return list;

failed:

    json_decref(list);
    return NULL;
}


static json_t *
ngx_http_wapress_status_json_redis(ngx_http_wapress_stats_conf_t *scf)
{
    ngx_uint_t          i, b;
    json_t             *list, *srv, *rtt, *buckets;
    ngx_atomic_t       *c;
    ngx_atomic_uint_t   acc;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < scf->servers.nelts; i++) {
        c = scf->counters + scf->server_offset
            + i * NGX_HTTP_WAPRESS_STATS_NSERVER;

        srv = json_object();
        rtt = json_object();
        buckets = json_object();

        if (json_array_append_new(list, srv) != 0
            || ngx_http_wapress_status_set(srv, "name",
                   ngx_http_wapress_status_string(&scf->server_names[i]))
               != 0
            || ngx_http_wapress_status_set(srv, "up", json_integer(
                   (ngx_atomic_int_t) c[NGX_HTTP_WAPRESS_STATS_R_UP])) != 0
            || ngx_http_wapress_status_set(srv, "connects", json_integer(
                   c[NGX_HTTP_WAPRESS_STATS_R_CONNECTS])) != 0
            || ngx_http_wapress_status_set(srv, "failures", json_integer(
                   c[NGX_HTTP_WAPRESS_STATS_R_FAILURES])) != 0
            || ngx_http_wapress_status_set(srv, "commands", json_integer(
                   c[NGX_HTTP_WAPRESS_STATS_R_SENT])) != 0
            || ngx_http_wapress_status_set(srv, "replies", json_integer(
                   c[NGX_HTTP_WAPRESS_STATS_R_REPLIES])) != 0
            || ngx_http_wapress_status_set(srv, "dropped", json_integer(
                   c[NGX_HTTP_WAPRESS_STATS_R_DROPPED])) != 0
            || ngx_http_wapress_status_set(srv, "in_flight", json_integer(
                   (ngx_atomic_int_t) c[NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT]))
               != 0
            || ngx_http_wapress_status_set(srv, "round_trip_seconds", rtt)
               != 0
            || ngx_http_wapress_status_set(rtt, "buckets", buckets) != 0
            || ngx_http_wapress_status_set(rtt, "sum", json_real(
                   c[NGX_HTTP_WAPRESS_STATS_R_RTT_SUM] / 1000.0)) != 0)
        {
            goto failed;
        }

        acc = 0;

        for (b = 0; b < NGX_HTTP_WAPRESS_STATS_NBUCKET; b++) {
            acc += c[NGX_HTTP_WAPRESS_STATS_R_BUCKETS + b];

            if (ngx_http_wapress_status_set(buckets,
                    ngx_http_wapress_status_le[b], json_integer(acc))
                != 0)
            {
                goto failed;
            }
        }

        if (ngx_http_wapress_status_set(rtt, "count", json_integer(acc))
            != 0)
        {
            goto failed;
        }
    }

    return list;

failed:

    json_decref(list);
    return NULL;
}


static json_t *
ngx_http_wapress_status_json_cache(ngx_http_wapress_stats_conf_t *scf)
{
    ngx_uint_t                       i;
    json_t                          *list, *z;
    ngx_atomic_t                    *c;
    ngx_http_wapress_cache_zone_t  **zone;
    ngx_http_wapress_cache_stats_t   st;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    zone = scf->zones.elts;

    for (i = 0; i < scf->zones.nelts; i++) {
        c = scf->counters + scf->zone_offset
            + i * NGX_HTTP_WAPRESS_STATS_NZONE;

        ngx_http_wapress_cache_stats(zone[i], &st);

        z = json_object();

        if (json_array_append_new(list, z) != 0
            || ngx_http_wapress_status_set(z, "zone",
                   ngx_http_wapress_status_string(
                       ngx_http_wapress_cache_name(zone[i]))) != 0
            || ngx_http_wapress_status_set(z, "size_bytes",
                   json_integer(st.size)) != 0
            || ngx_http_wapress_status_set(z, "used_bytes",
                   json_integer(st.used)) != 0
            || ngx_http_wapress_status_set(z, "entries",
                   json_integer(st.entries)) != 0
            || ngx_http_wapress_status_set(z, "evictions",
                   json_integer(st.evictions)) != 0
            || ngx_http_wapress_status_set(z, "stale_served",
                   json_integer(c[NGX_HTTP_WAPRESS_STATS_Z_STALE])) != 0
            || ngx_http_wapress_status_set(z, "oldest_stale_age_seconds",
                   json_real(ngx_http_wapress_stats_oldest(scf, i)
                             / 1000.0)) != 0)
        {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


/* a label as a JSON string; bytes that are not UTF-8 become "?" */

static json_t *
ngx_http_wapress_status_string(ngx_str_t *s)
{
    json_t  *j;

    if (s->len == 0) {
        return json_string("");
    }

    j = json_stringn((const char *) s->data, s->len);

    return j ? j : json_string("?");
}


/* json_object_set_new() that fails on a NULL value (out of memory) */

static int
ngx_http_wapress_status_set(json_t *obj, const char *key, json_t *value)
{
    if (obj == NULL || value == NULL) {
        if (value != NULL) {
            json_decref(value);
        }

        return -1;
    }

    return json_object_set_new(obj, key, value);
}
