-- wrk's script for the flash-sale benchmarks (benches/flash.sh and
-- benches/flash_pairs.sh): reserveOrder for 1 unit of $SKU per request,
-- each with a fresh reservationId made of $NONCE, the thread and a
-- counter. A run must use a nonce of its own: the same ids again are
-- retries, answered with the stored holds.
--
-- Environment: NONCE (0 .. 2^32 - 1), SKU, FLASH_KEYS (checkout keys, comma
-- separated, taken in turn; none: no Authorization header, as the ceiling
-- wants), PAY=1 (each thread confirms the holds it made before, in the
-- same order: the same nonce, thread and counter give the same ids).
local nonce = tonumber(os.getenv("NONCE") or "0")
local sku = os.getenv("SKU") or "DROP-SNEAKER-LTD"
local pay = os.getenv("PAY") == "1"

local threads = {}
local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("tid", next_thread)
  table.insert(threads, thread)
end

counter, held, short, other = 0, 0, 0, 0
local headers = {}
for key in string.gmatch(os.getenv("FLASH_KEYS") or "", "[^,]+") do
  table.insert(headers, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key })
end
if #headers == 0 then
  headers[1] = { ["Content-Type"] = "application/json" }
end

request = function()
  counter = counter + 1
  local id = string.format("%08x-%04x-4000-8000-%012x", nonce, tid, counter)
  local body
  if pay then
    body = '{"query":"mutation($id:UUID!){confirmReservation(id:$id){__typename id status}}","variables":{"id":"' .. id .. '"}}'
  else
    body = '{"query":"mutation($i:ReserveOrderInput!){reserveOrder(input:$i){__typename ... on Reservation{id status} ... on InsufficientStock{message}}}",'
      .. '"variables":{"i":{"reservationId":"' .. id .. '","lines":[{"sku":"' .. sku .. '","quantity":1}],"shipTo":{"latitude":52.52,"longitude":13.405}}}}'
  end
  return wrk.format("POST", "/graphql", headers[counter % #headers + 1], body)
end

response = function(status, _, body)
  if pay and status == 200 and string.find(body, '"status":"CONFIRMED"', 1, true) and not string.find(body, '"errors"', 1, true) then
    held = held + 1
  elseif not pay and status == 200 and string.find(body, '"__typename":"Reservation"', 1, true) then
    held = held + 1
  elseif status == 200 and string.find(body, '"__typename":"InsufficientStock"', 1, true) then
    short = short + 1
  else
    other = other + 1
    if other <= 3 then io.stderr:write(status .. " " .. body .. "\n") end
  end
end

done = function()
  local h, s, o = 0, 0, 0
  for _, t in ipairs(threads) do
    h = h + t:get("held"); s = s + t:get("short"); o = o + t:get("other")
  end
  io.write(string.format("answers held=%d short=%d other=%d\n", h, s, o))
end
