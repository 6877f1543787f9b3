-- POST /api/v1/process with a different 1-megapixel photo per request (round robin over
-- PHOTO_LIST), or the same one every time (PHOTO: one file, instead of PHOTO_LIST), one operation
-- (OPERATION, PARAMS, FORMAT), as a signed-in user (TOKEN; empty or unset: no Authorization
-- header, for servers without accounts).
local boundary = "pixhive-bench-boundary"
local bodies = {}
local n = 0
local headers = {}

local function field(name, value, file)
  local disposition = 'form-data; name="' .. name .. '"'
  if file then disposition = disposition .. '; filename="photo.jpg"' end
  return "--" .. boundary .. "\r\nContent-Disposition: " .. disposition .. "\r\n\r\n" .. value .. "\r\n"
end

local function env(name)
  return os.getenv(name) or ""
end

function init(args)
  local paths = {}
  if env("PHOTO") ~= "" then
    paths[1] = env("PHOTO")
  else
    for path in io.lines(env("PHOTO_LIST")) do paths[#paths + 1] = path end
  end
  for _, path in ipairs(paths) do
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("*a")
    f:close()
    local body = field("image", bytes, true) .. field("operation", env("OPERATION"))
    if env("PARAMS") ~= "" then body = body .. field("params", env("PARAMS")) end
    if env("FORMAT") ~= "" then body = body .. field("format", env("FORMAT")) end
    bodies[#bodies + 1] = body .. "--" .. boundary .. "--\r\n"
  end
  headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
  if env("TOKEN") ~= "" then headers["Authorization"] = "Bearer " .. env("TOKEN") end
  -- Threads start at different photos.
  n = math.random(#bodies)
end

function request()
  n = n % #bodies + 1
  return wrk.format("POST", "/api/v1/process", headers, bodies[n])
end
