-- The DeathStarBench-style social mix: 60% home feed, 30% a user's photos, 10% like, each as a
-- random seeded user (SEED_DIR/tokens), over random users (usernames) and photos (photos).
local tokens, names, photos = {}, {}, {}

local function lines(path, into)
  for line in io.lines(path) do into[#into + 1] = line end
end

function init(args)
  local dir = os.getenv("SEED_DIR")
  lines(dir .. "/tokens", tokens)
  lines(dir .. "/usernames", names)
  lines(dir .. "/photos", photos)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
end

function request()
  local auth = { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] }
  local r = math.random(100)
  if r <= 60 then
    return wrk.format("GET", "/api/v1/feed/home?limit=20", auth)
  elseif r <= 90 then
    return wrk.format("GET", "/api/v1/users/" .. names[math.random(#names)] .. "/photos?limit=20", auth)
  end
  return wrk.format("PUT", "/api/v1/photos/" .. photos[math.random(#photos)] .. "/like", auth)
end
