-- bench/lua/wapress_page.lua: the seed page built the OpenResty way, as the
-- "lua" peer of the benchmark (bench/run.sh).  Same page, same Redis keys,
-- same bytes as ngx_wapress_module, written the way a careful OpenResty
-- engineer would: the layout is split once at init, each template is a
-- hand-written renderer (its text pieces copied from templates/*.mustache,
-- standalone section lines already dropped), one pipelined round trip per
-- page over a keepalive pool, lua-cjson for JSON, escaping with one
-- string.gsub over a table, and one ngx.print of a table of strings.

local redis  = require "nginx.redis"          -- Debian's lua-nginx-redis
local cjson  = require "cjson.safe"           -- Debian's lua-cjson

local ngx        = ngx
local null       = ngx.null
local print      = ngx.print
local exit       = ngx.exit
local var        = ngx.var
local header     = ngx.header
local find       = string.find
local re_find    = ngx.re.find
local gsub       = string.gsub
local format     = string.format
local floor      = math.floor
local type       = type
local tostring   = tostring
local decode     = cjson.decode
local io_open    = io.open
local next       = next

local ok, new_tab = pcall(require, "table.new")
if not ok then new_tab = function() return {} end end

local _M = {}

local REDIS_HOST = "127.0.0.1"
local REDIS_PORT = 6379
local POOL_OPTS  = { pool_size = 64 }
local TIMEOUT_MS = 200

-- HTML escaping of exactly & < > " ': a PCRE-JIT scan for the common case
-- of nothing to escape (a Lua pattern class scan costs a third of the page),
-- then one string.gsub over a table.
local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
              ['"'] = "&quot;", ["'"] = "&#39;" }
local ESC_SET = "[&<>\"']"
local ESC_RE  = [=[[&<>"']]=]

local function esc(v)
    local t = type(v)
    if t == "string" then
        if not re_find(v, ESC_RE, "jo") then return v end
        return (gsub(v, ESC_SET, ESC))
    end
    if v == nil or v == null then return "" end
    if t == "number" then
        if v == floor(v) and v > -1e15 and v < 1e15 then
            return format("%d", v)
        end
        return tostring(v)
    end
    return esc(tostring(v))
end

-- Renderers: each appends the fragment's strings to out from index n+1
-- and returns the new n.  ctx is the decoded root value.

-- comments.mustache
local C1 = '<span class="comments-count" data-count="'
local C2 = '">'
local C3 = ' Comments</span>\n'
local function r_comments(out, n, ctx)
    local s = esc(ctx)
    out[n + 1] = C1; out[n + 2] = s; out[n + 3] = C2; out[n + 4] = s
    out[n + 5] = C3
    return n + 5
end

-- related.mustache
local R0 = '<ul class="related-list">\n'
local R1 = '  <li class="related-item">\n    <h3 class="related-title"><a href="'
local R2 = '">'
local R3 = '</a></h3>\n    <p class="related-excerpt">'
local R4 = '</p>\n  </li>\n'
local R5 = '</ul>\n'
-- features.mustache
local F0 = '<ol class="feature-list">\n'
local F1 = '  <li class="feature">\n    <a class="feature-title" href="'
local F2 = '">'
local F3 = '</a>\n    <p class="feature-excerpt">'
local F4 = '</p>\n  </li>\n'
local F5 = '</ol>\n'

-- {{#.}} over the root: a list iterates, an object renders once, a
-- falsy value or an empty list renders nothing.
local function list_of(ctx)
    if type(ctx) ~= "table" then return nil end   -- scalars: not handled
    if ctx[1] == nil and next(ctx) ~= nil then return { ctx } end
    return ctx
end

local function r_items(out, n, ctx, P0, P1, P2, P3, P4, P5)
    n = n + 1; out[n] = P0
    local items = list_of(ctx)
    if items then
        for i = 1, #items do
            local it = items[i]
            if type(it) ~= "table" then it = {} end
            out[n + 1] = P1; out[n + 2] = esc(it.url)
            out[n + 3] = P2; out[n + 4] = esc(it.title)
            out[n + 5] = P3; out[n + 6] = esc(it.excerpt)
            out[n + 7] = P4
            n = n + 7
        end
    end
    n = n + 1; out[n] = P5
    return n
end

local function r_related(out, n, ctx)
    return r_items(out, n, ctx, R0, R1, R2, R3, R4, R5)
end

local function r_features(out, n, ctx)
    return r_items(out, n, ctx, F0, F1, F2, F3, F4, F5)
end

-- history.mustache (type=text: ctx is the raw string)
local H1 = '<p class="history-fact">'
local H2 = '</p>\n'
local function r_history(out, n, ctx)
    out[n + 1] = H1; out[n + 2] = esc(ctx); out[n + 3] = H2
    return n + 3
end

-- rates.mustache
local T0 = '<table class="rates-table">\n  <tbody>\n'
local T1 = '    <tr><th scope="row">'
local T2 = '</th><td class="rate-name">'
local T3 = '</td><td class="rate-value">'
local T4 = '</td></tr>\n'
local T5 = '  </tbody>\n</table>\n<p class="rates-meta">'
local T6 = ' · '
local T7 = '</p>\n<ul class="rates-status">\n  <li>Check: '
local T8 = '</li>\n  <li>Latest change: '
local T9 = '</li>\n  <li>API: '
local T10 = '</li>\n</ul>\n'
local function r_rates(out, n, ctx)
    if type(ctx) ~= "table" then ctx = {} end
    n = n + 1; out[n] = T0
    local rows = list_of(ctx.rates)
    if rows then
        for i = 1, #rows do
            local r = rows[i]
            if type(r) ~= "table" then r = {} end
            -- a name missing in the row is looked up in the root (Mustache
            -- context stack)
            local c, nm, d = r.country, r.name, r.display
            if c == nil then c = ctx.country end
            if nm == nil then nm = ctx.name end
            if d == nil then d = ctx.display end
            out[n + 1] = T1; out[n + 2] = esc(c)
            out[n + 3] = T2; out[n + 4] = esc(nm)
            out[n + 5] = T3; out[n + 6] = esc(d)
            out[n + 7] = T4
            n = n + 7
        end
    end
    local provider = esc(ctx.provider)
    out[n + 1] = T5; out[n + 2] = provider; out[n + 3] = T6
    out[n + 4] = esc(ctx.base); out[n + 5] = T7; out[n + 6] = esc(ctx.checked)
    out[n + 7] = T8; out[n + 8] = esc(ctx.changed); out[n + 9] = T9
    out[n + 10] = provider; out[n + 11] = T10
    return n + 11
end

-- Slots: name -> key prefix (slug appended) or fixed key, type, renderer,
-- default, required.  Same as examples/nginx.conf.
local SLOTS = {
    article  = { prefix = "article:",  type = "html", required = true },
    comments = { prefix = "comments:", type = "json", render = r_comments,
                 default = "0" },
    related  = { prefix = "related:",  type = "json", render = r_related },
    features = { key = "features:home", type = "json", render = r_features },
    history  = { key = "history:today", type = "text", render = r_history },
    rates    = { key = "rates:USD",     type = "json", render = r_rates },
}

-- Filled by init(): the layout split at its markers.
local pieces          -- pieces[i] is the layout text before slot i
local slots           -- slots[i] is the SLOTS entry of the i-th marker
local nslots
local last            -- layout text after the last marker

function _M.init(layout_path, redis_port)
    REDIS_PORT = redis_port
    local f = assert(io_open(layout_path, "rb"))
    local layout = f:read("*a")
    f:close()
    pieces, slots, nslots = {}, {}, 0
    local pos = 1
    while true do
        local s, e, name = find(layout, '<!%-%-# wapress fragment="([^"]+)" %-%->', pos)
        if not s then break end
        local slot = assert(SLOTS[name], "unknown slot " .. name)
        nslots = nslots + 1
        pieces[nslots] = layout:sub(pos, s - 1)
        slots[nslots] = slot
        pos = e + 1
    end
    last = layout:sub(pos)
end

local function fail(status, msg)
    ngx.log(ngx.ERR, "wapress_page: ", msg)
    return exit(status)
end

function _M.handle()
    local slug = var.slug

    local red = redis:new()
    red:set_timeout(TIMEOUT_MS)     -- 0.27 has no set_timeouts
    local ok, err = red:connect(REDIS_HOST, REDIS_PORT, POOL_OPTS)
    if not ok then return fail(502, "redis connect: " .. err) end

    red:init_pipeline(nslots)
    for i = 1, nslots do
        local s = slots[i]
        red:get(s.key or (s.prefix .. slug))
    end
    local res, err2 = red:commit_pipeline()
    if not res then return fail(502, "redis: " .. tostring(err2)) end
    red:set_keepalive(0, 64)

    local out = new_tab(nslots * 40, 0)
    local n = 0
    for i = 1, nslots do
        n = n + 1; out[n] = pieces[i]
        local s, v = slots[i], res[i]
        if type(v) ~= "string" then          -- missing key or error reply
            if s.required then return fail(502, "missing required " .. i) end
            v = s.default
        end
        local t = s.type
        if t == "html" then
            if v then n = n + 1; out[n] = v end
        elseif v then
            local ctx = v
            if t == "json" then ctx = decode(v) end
            n = s.render(out, n, ctx)
        end
    end
    n = n + 1; out[n] = last

    local len = 0
    for i = 1, n do len = len + #out[i] end
    header["Content-Length"] = len
    print(out)
end

return _M
