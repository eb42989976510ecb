-- bench/site/zipf.lua: wrk's requests for the site workload.
--   wrk -s bench/site/zipf.lua URL -- PATHS_FILE
-- PATHS_FILE (gen.py's paths.txt) holds the request paths, drawn once from
-- the Zipf distribution; each thread formats them all at start and then
-- cycles through them from its own offset, so a request costs wrk one
-- table lookup, the same for every server.
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end

function init(args)
    local file = args[1] or "paths.txt"
    local f = assert(io.open(file, "r"), "cannot open " .. file)
    reqs = {}
    for line in f:lines() do
        if #line > 0 then
            reqs[#reqs + 1] = wrk.format("GET", line)
        end
    end
    f:close()
    assert(#reqs > 0, file .. " has no paths")
    n = #reqs
    i = ((id or 0) * 104729) % n
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
end
