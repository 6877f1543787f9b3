-- wrk script: POSTs the photos in $PHOTO_DIR round-robin as raw image/jpeg uploads.
local files = {}
for name in io.popen('ls "' .. os.getenv("PHOTO_DIR") .. '"/*.jpg'):lines() do
  local f = io.open(name, "rb")
  files[#files + 1] = f:read("*a")
  f:close()
end
local headers = {["Content-Type"] = "image/jpeg", ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/photos", headers, files[(i % #files) + 1])
end
