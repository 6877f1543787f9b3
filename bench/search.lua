-- GET /api/v1/search over the fixed query list SEED_DIR/queries ("type q" per line), round robin.
local queries = {}
local n = 0

function init(args)
  for line in io.lines(os.getenv("SEED_DIR") .. "/queries") do
    local type, q = line:match("^(%S+) (.+)$")
    queries[#queries + 1] = "/api/v1/search?type=" .. type .. "&q=" .. q
  end
  n = math.random(#queries)
end

function request()
  n = n % #queries + 1
  return wrk.format("GET", queries[n])
end
