-- POST /api/v1/process with a different 1-megapixel photo per request (round robin over
-- PHOTO_LIST), one operation (OPERATION, PARAMS, FORMAT), as a signed-in user (TOKEN).
local boundary = "pixhive-bench-boundary"
local bodies = {}
local n = 0

local function field(name, value, file)
  local disposition = 'form-data; name="' .. name .. '"'
  if file then disposition = disposition .. '; filename="photo.jpg"' end
  return "--" .. boundary .. "\r\nContent-Disposition: " .. disposition .. "\r\n\r\n" .. value .. "\r\n"
end

function init(args)
  for path in io.lines(os.getenv("PHOTO_LIST")) do
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("*a")
    f:close()
    local body = field("image", bytes, true) .. field("operation", os.getenv("OPERATION"))
    if os.getenv("PARAMS") ~= "" then body = body .. field("params", os.getenv("PARAMS")) end
    if os.getenv("FORMAT") ~= "" then body = body .. field("format", os.getenv("FORMAT")) end
    bodies[#bodies + 1] = body .. "--" .. boundary .. "--\r\n"
  end
  -- Threads start at different photos.
  n = math.random(#bodies)
end

function request()
  n = n % #bodies + 1
  return wrk.format("POST", "/api/v1/process", {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, bodies[n])
end
