-- POST /petitions/<slug>/sign with a unique address per request. Appended to report.lua.
-- Arguments after "--": the sessions file (one "cookie<TAB>csrf token" line per wrk thread),
-- the sign path, and a tag that keeps addresses unique across runs on one database.
expected_status = 303

local NAMES = {
  "Ana Souza", "François Lefèvre", "Jürgen Weiß", "Алексей Смирнов", "Γιώργος Νικολάου",
  "أحمد حسن", "נועה כהן", "प्रिया शर्मा", "สมชาย ใจดี", "王伟", "佐藤花子", "김민준",
  "ნინო ბერიძე", "Անի Հակոբյան", "አበበ በቀለ", "Nguyễn Thị Hương",
}
local COUNTRIES = { "BR", "FR", "DE", "RU", "GR", "EG", "IL", "IN", "TH", "CN", "JP", "KR",
  "GE", "AM", "ET", "VN" }

local function encode(s)
  return (s:gsub("[^%w%-%._~ ]", function(c)
    return string.format("%%%02X", string.byte(c))
  end):gsub(" ", "+"))
end

local body_head, path, tag, thread_id
local counter = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  local lines = {}
  for line in file:lines() do
    table.insert(lines, line)
  end
  file:close()
  path, tag = args[2], args[3]
  local cookie, token = lines[(id % #lines) + 1]:match("^([^\t]+)\t(.+)$")
  thread_id = id
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = cookie
  body_head = "csrf_token=" .. encode(token) .. "&city=&postcode=&updates=y"
  for i = 1, #NAMES do
    NAMES[i] = encode(NAMES[i])
  end
end

function request()
  counter = counter + 1
  local pick = (counter % #NAMES) + 1
  local body = string.format("%s&name=%s&country=%s&email=%s-%d-%d%%40example.org",
    body_head, NAMES[pick], COUNTRIES[pick], tag, thread_id, counter)
  return wrk.format(nil, path, nil, body)
end
