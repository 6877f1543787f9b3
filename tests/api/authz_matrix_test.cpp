// The authorization matrix: every operation docs/openapi.yaml describes, called without a token,
// by the owner of the resource, by another user and by an admin, on a public and on a private
// photo in each of its states (ready, processing, failed, held) where that applies, answers the
// status tests/api/authz_matrix.tsv expects. The operations
// come from the document (read with yaml-cpp), so a new operation fails here until the table has
// its rows.
#include <array>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "openapi_doc.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
#include "pixhive/store/sql.hpp"
#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

const std::string password = "correct horse battery";

enum caller { anonymous, owner, other, admin };
constexpr std::array<const char*, 4> caller_names{"anonymous", "owner", "other", "admin"};

/// One line of authz_matrix.tsv.
struct matrix_row {
  std::string method;
  std::string path;
  /// The photo the request is about: "public" or "private", then "/processing", "/failed" or
  /// "/held" for a photo in that state (none: ready); "-" for none.
  std::string visibility;
  std::array<int, 4> expected{};
  int line = 0;
  std::string key() const { return method + " " + path; }
  std::string where() const { return key() + (visibility == "-" ? "" : " (" + visibility + ")"); }
};

/// Every kind of photo a row can be about: visibility, and state where it is not ready.
const std::set<std::string>& photo_kinds() {
  static const std::set<std::string> all{
      "public",  "public/processing",  "public/failed",  "public/held",
      "private", "private/processing", "private/failed", "private/held"};
  return all;
}

std::vector<matrix_row> read_matrix() {
  std::ifstream in{std::string(AUTHZ_MATRIX)};
  EXPECT_TRUE(in) << AUTHZ_MATRIX << " is missing";
  std::vector<matrix_row> rows;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss{text};
    for (std::string cell; std::getline(ss, cell, '\t');) cells.push_back(cell);
    matrix_row row;
    row.line = line;
    if (cells.size() < 7) {
      ADD_FAILURE() << AUTHZ_MATRIX << ":" << line << ": expected at least 7 tab-separated cells";
      continue;
    }
    row.method = cells[0];
    row.path = cells[1];
    row.visibility = cells[2];
    if (row.visibility != "-" && !photo_kinds().count(row.visibility))
      ADD_FAILURE() << AUTHZ_MATRIX << ":" << line
                    << ": visibility must be public or private, optionally with /processing, "
                       "/failed or /held, or -";
    for (size_t c = 0; c < 4; ++c) row.expected[c] = std::atoi(cells[3 + c].c_str());
    rows.push_back(row);
  }
  return rows;
}

std::map<std::string, api_operation> documented() {
  std::map<std::string, pixhive::testing::api_operation> ops;
  for (auto& op : read_operations(openapi_file())) ops[op.key()] = op;
  EXPECT_GT(ops.size(), 10u);
  return ops;
}

/// A small real JPEG (the upload pipeline decodes it and makes its variants).
std::string small_jpeg() {
  cv::Mat img(48, 64, CV_8UC3, cv::Scalar(30, 90, 160));
  cv::rectangle(img, cv::Rect(16, 12, 32, 24), cv::Scalar(240, 240, 240), cv::FILLED);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  return {buf.begin(), buf.end()};
}

/// One request of the matrix, before its path parameters are filled in.
struct request_spec {
  std::map<std::string, std::string> params;
  std::string query;
  std::string body;
  std::map<std::string, std::string> headers;
};

/// The users, photos, comments and jobs the rows' path parameters name.
class world {
 public:
  world() {
    tokens_[owner] = create_and_login(server_, "alice");
    tokens_[other] = create_and_login(server_, "bob");
    tokens_[admin] = create_and_login(server_, "root", true);
    auto carol = create_and_login(server_, "carol");
    carol_id_ = send(verb::get, "/api/v1/users/me", {}, {}, carol).json().value("id", "");
    for (const auto& kind : photo_kinds()) {
      auto& r = resources_[kind];
      r.key = kind.substr(0, kind.find('/')) + "-" + std::to_string(resources_.size()) + "-key";
      r.photo = photo_in(kind, r.key, false);
      r.comment = comment_on(r.photo);
      auto job = send_json(verb::post, "/api/v1/photos/" + r.photo + "/jobs",
                           {{"operations", {{{"name", "invert"}}}}}, tokens_[owner]);
      EXPECT_EQ(job.status, 202) << job.body;
      r.job = job.json()["jobs"][0].value("id", "");
      wait_finished(r.job);
      put_in_state(r.photo, kind);
    }
    auto jpeg = small_jpeg();
    form two;
    two.file("image", jpeg, "x.jpg", "image/jpeg")
        .field("operation", "invert")
        .file("image", jpeg, "x.jpg", "image/jpeg")
        .field("operation", "grayscale");
    auto adhoc = send(verb::post, "/api/v1/process", two.done(), {{"Content-Type", two.type()}},
                      tokens_[owner]);
    EXPECT_EQ(adhoc.status, 202) << adhoc.body;
    adhoc_job_ = adhoc.json()["jobs"][0].value("id", "");
    wait_finished(adhoc_job_);
  }

  const std::string& token(caller c) const { return tokens_[c]; }

  /// A new access token for `c` after an operation ended all of its sessions: signed here with
  /// the server's key, as a login would, without spending the login rate limit.
  void renew(caller c) {
    if (c == anonymous) return;
    auto key = jwt_key(server_);
    auto claims = pixhive::jwt::verify(tokens_[c], key, pixhive::unix_now());
    ASSERT_TRUE(claims) << caller_names[c] << "'s token no longer verifies";
    claims->issued_at = pixhive::unix_now();
    claims->issued_at_ms = pixhive::unix_now_ms() + 1;
    tokens_[c] = pixhive::jwt::sign(*claims, key);
  }
  pixhive_server& server() { return server_; }

  reply send(verb method, const std::string& target, const std::string& body,
             std::map<std::string, std::string> headers, const std::string& token) {
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    // /metrics lives on the metrics listener, never on the API port.
    http_connection conn{target == "/metrics" ? server_.metrics_port() : server_.port()};
    return conn.request(method, target, body, headers);
  }

  reply send_json(verb method, const std::string& target, const json& body,
                  const std::string& token) {
    return send(method, target, body.dump(), {{"Content-Type", "application/json"}}, token);
  }

  /// A new photo of alice's; its id.
  std::string upload(const std::string& visibility, const std::string& key = {}) {
    auto query = "?caption=%23macro&visibility=" + visibility + (key.empty() ? "" : "&key=" + key);
    return upload_photo(server_.port(), tokens_[owner], small_jpeg(), query, "image/jpeg");
  }

  /// A new photo of alice's of `kind` ("public/held"); its id. The state is set in the database
  /// once processing is done (a photo waits in "processing" for a moment only, and the states
  /// failed and held need bytes and scores that would make the matrix slow and fragile), unless
  /// `later`: then the caller sets it with put_in_state.
  std::string photo_in(const std::string& kind, const std::string& key = {}, bool now = true) {
    auto id = upload(kind.substr(0, kind.find('/')), key);
    wait_ready(id);
    if (now) put_in_state(id, kind);
    return id;
  }

  /// Moves photo `id` to the state `kind` names (nothing for a ready photo).
  void put_in_state(const std::string& id, const std::string& kind) {
    auto slash = kind.find('/');
    if (slash == std::string::npos) return;
    auto db = pixhive::store::database::open("sqlite:" + server_.data_dir() + "/pixhive.db", 1);
    ASSERT_TRUE(db) << "the server's database cannot be opened";
    auto r = (*db)->query("UPDATE photos SET status = ?, status_reason = 'authz' WHERE id = ?",
                          {kind.substr(slash + 1), std::stoll(id)});
    ASSERT_TRUE(r);
  }

  /// A new comment of alice's on `photo`; its id.
  std::string comment_on(const std::string& photo) {
    auto r = send_json(verb::post, "/api/v1/photos/" + photo + "/comments", {{"text", "authz"}},
                       tokens_[owner]);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  /// A fresh refresh token of alice's.
  std::string refresh_token() {
    auto r = send_json(verb::post, "/api/v1/auth/login",
                       {{"login", "alice"}, {"password", password}}, {});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().value("refresh_token", "");
  }

  /// A new unverified account; its name and the code mailed to it.
  std::pair<std::string, std::string> pending_signup() {
    auto name = next_name("pending");
    auto r = send_json(
        verb::post, "/api/v1/auth/signup",
        {{"username", name}, {"email", name + "@example.com"}, {"password", password}}, {});
    EXPECT_EQ(r.status, 201) << r.body;
    return {name, latest_code(server_.data_dir(), name + "@example.com")};
  }

  std::string next_name(const std::string& prefix) { return prefix + std::to_string(++serial_); }

  /// The value of a path parameter of `path` for a row about a photo of `visibility`.
  std::string param(const std::string& path, const std::string& name,
                    const std::string& visibility) {
    if (name == "username") return "alice";
    if (name == "name") return "thumbnail";
    if (name == "tag") return "macro";
    if (name == "id" && path.rfind("/api/v1/admin/users/", 0) == 0) return carol_id_;
    // No photo is flagged here: an admin's decision finds nothing (content_test decides).
    if (name == "id" && path.rfind("/api/v1/admin/moderation/", 0) == 0) return "1";
    if (name == "id" && path.rfind("/api/v1/jobs/", 0) == 0 && visibility == "-") return adhoc_job_;
    auto it = resources_.find(visibility);
    if (it == resources_.end()) return {};
    if (name == "id" && path.rfind("/api/v1/jobs/", 0) == 0) return it->second.job;
    if (name == "id") return it->second.photo;
    if (name == "key") return it->second.key;
    if (name == "comment_id") return it->second.comment;
    return {};
  }

 private:
  /// Waits for the log line saying processing made the photo ready.
  void wait_ready(const std::string& photo) {
    auto line = server_.process().wait_for_line([&](const std::string& l) {
      auto j = json::parse(l, nullptr, false);
      if (!j.is_object() || j.value("event", "") != "photo_ready" || !j.contains("photo_id"))
        return false;
      const auto& id = j["photo_id"];
      return (id.is_string() ? id.get<std::string>() : id.dump()) == photo;
    });
    EXPECT_TRUE(line) << "photo " << photo << " did not become ready";
  }

  /// Reads the job's event stream, which ends when the job has succeeded or finally failed.
  void wait_finished(const std::string& job) {
    auto r = send(verb::get, "/api/v1/jobs/" + job + "/events", {}, {}, tokens_[owner]);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("event: succeeded"), std::string::npos) << r.body;
  }

  struct photo_resources {
    std::string photo, key, comment, job;
  };

  pixhive_server server_;
  std::array<std::string, 4> tokens_;
  std::string carol_id_;
  std::map<std::string, photo_resources> resources_;
  std::string adhoc_job_;
  int serial_ = 0;
};

/// One world for all tests of this file: it takes a while to build.
world& shared_world() {
  static world w;
  return w;
}

/// What an operation sends besides its path, so that the status reflects who asks and not a
/// malformed request; some make a fresh resource because the request consumes it.
using recipe = std::function<void(world&, const matrix_row&, request_spec&)>;

void json_body(request_spec& spec, const json& body) {
  spec.body = body.dump();
  spec.headers["Content-Type"] = "application/json";
}

const std::map<std::string, recipe>& recipes() {
  static const std::map<std::string, recipe> all{
      {"POST /api/v1/auth/signup",
       [](world& w, const matrix_row&, request_spec& s) {
         auto name = w.next_name("signup");
         json_body(s,
                   {{"username", name}, {"email", name + "@example.com"}, {"password", password}});
       }},
      {"POST /api/v1/auth/verify",
       [](world& w, const matrix_row&, request_spec& s) {
         auto [name, code] = w.pending_signup();
         json_body(s, {{"username", name}, {"code", code}});
       }},
      {"POST /api/v1/auth/resend",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"username", "alice"}});
       }},
      {"POST /api/v1/auth/login",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"login", "alice"}, {"password", password}});
       }},
      {"POST /api/v1/auth/refresh",
       [](world& w, const matrix_row&, request_spec& s) {
         json_body(s, {{"refresh_token", w.refresh_token()}});
       }},
      {"POST /api/v1/auth/logout",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"refresh_token", "not-a-refresh-token"}});
       }},
      {"POST /api/v1/auth/reset-request",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"email", "alice@example.com"}});
       }},
      {"POST /api/v1/auth/reset",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"token", "not-a-reset-token"}, {"new_password", password}});
       }},
      {"POST /api/v1/users/me/password",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"current_password", password}, {"new_password", password}});
       }},
      {"PATCH /api/v1/users/me",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"bio", "authz"}});
       }},
      {"POST /api/v1/photos",
       [](world&, const matrix_row&, request_spec& s) {
         s.body = small_jpeg();
         s.headers["Content-Type"] = "image/jpeg";
       }},
      {"DELETE /api/v1/photos/{id}",
       [](world& w, const matrix_row& row, request_spec& s) {
         s.params["id"] = w.photo_in(row.visibility);
       }},
      {"POST /api/v1/photos/{id}/retry",
       [](world& w, const matrix_row& row, request_spec& s) {
         // A retry consumes a failed photo: a new one each time.
         if (row.visibility.find("/failed") != std::string::npos)
           s.params["id"] = w.photo_in(row.visibility);
       }},
      {"PUT /api/v1/admin/cache",
       [](world&, const matrix_row&, request_spec& s) {
         // The defaults of --cache-mb and --cache-policy: the request changes nothing.
         json_body(s, {{"capacity_mb", 256}, {"policy", "lru"}});
       }},
      {"POST /api/v1/process",
       [](world&, const matrix_row&, request_spec& s) {
         form one;
         one.file("image", small_jpeg(), "x.jpg", "image/jpeg").field("operation", "invert");
         s.body = one.done();
         s.headers["Content-Type"] = one.type();
       }},
      {"POST /api/v1/photos/{id}/jobs",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"operations", {{{"name", "invert"}}}}});
       }},
      {"POST /api/v1/photos/{id}/comments",
       [](world&, const matrix_row&, request_spec& s) {
         json_body(s, {{"text", "authz"}});
       }},
      {"DELETE /api/v1/photos/{id}/comments/{comment_id}",
       [](world& w, const matrix_row& row, request_spec& s) {
         s.params["comment_id"] = w.comment_on(w.param(row.path, "id", row.visibility));
       }},
      {"GET /api/v1/search",
       [](world&, const matrix_row&, request_spec& s) { s.query = "?q=macro"; }},
  };
  return all;
}

/// The request target of `row`: its path with every parameter filled in, and its query.
std::string target(world& w, const matrix_row& row, const request_spec& spec) {
  std::string out = row.path;
  for (const auto& name : template_parameters(row.path)) {
    auto given = spec.params.find(name);
    auto value =
        given != spec.params.end() ? given->second : w.param(row.path, name, row.visibility);
    EXPECT_FALSE(value.empty()) << "line " << row.line << ": no value for {" << name << "} of "
                                << row.where();
    auto at = out.find("{" + name + "}");
    out.replace(at, name.size() + 2, value);
  }
  return out + spec.query;
}

}  // namespace

TEST(authz_matrix, rows_and_operations_match) {
  auto ops = documented();
  auto rows = read_matrix();
  std::set<std::string> in_table;
  std::set<std::string> seen;
  for (const auto& row : rows) {
    in_table.insert(row.key());
    EXPECT_TRUE(seen.insert(row.where()).second)
        << AUTHZ_MATRIX << ":" << row.line << ": a second row for " << row.where();
    EXPECT_TRUE(ops.count(row.key()))
        << AUTHZ_MATRIX << ":" << row.line << ": " << row.key() << " is not in docs/openapi.yaml";
  }
  for (const auto& [key, op] : ops)
    EXPECT_TRUE(in_table.count(key))
        << key << " is in docs/openapi.yaml but has no row in " << AUTHZ_MATRIX;
  for (const auto& [key, fn] : recipes())
    EXPECT_TRUE(ops.count(key)) << "the request recipe for " << key
                                << " names no operation of docs/openapi.yaml";
}

TEST(authz_matrix, expected_statuses_are_documented) {
  auto ops = documented();
  for (const auto& row : read_matrix()) {
    auto op = ops.find(row.key());
    if (op == ops.end()) continue;
    for (size_t c = 0; c < 4; ++c)
      EXPECT_TRUE(op->second.statuses.count(std::to_string(row.expected[c])))
          << AUTHZ_MATRIX << ":" << row.line << ": " << row.where() << " expects "
          << row.expected[c] << " for " << caller_names[c]
          << ", which docs/openapi.yaml does not list";
  }
}

TEST(authz_matrix, every_caller_gets_the_expected_status) {
  auto rows = read_matrix();
  ASSERT_FALSE(rows.empty());
  auto& w = shared_world();
  size_t requests = 0;
  for (const auto& row : rows) {
    auto method = bhttp::string_to_verb(row.method);
    ASSERT_NE(method, verb::unknown) << AUTHZ_MATRIX << ":" << row.line;
    auto how = recipes().find(row.key());
    for (auto c : {anonymous, owner, other, admin}) {
      request_spec spec;
      if (how != recipes().end()) how->second(w, row, spec);
      auto r = w.send(method, target(w, row, spec), spec.body, spec.headers, w.token(c));
      ++requests;
      EXPECT_EQ(r.status, row.expected[c])
          << AUTHZ_MATRIX << ":" << row.line << ": " << row.where() << " as " << caller_names[c]
          << " answered " << r.body.substr(0, 300);
      if (row.key() == "POST /api/v1/auth/logout-all" ||
          row.key() == "POST /api/v1/users/me/password")
        w.renew(c);
    }
  }
  std::cout << "[ MATRIX   ] " << rows.size()
            << " rows (operations x visibility) x 4 callers = " << requests
            << " requests checked\n";
}

TEST(authz_matrix, lists_feeds_and_search_show_others_only_ready_public_photos) {
  auto& w = shared_world();
  ASSERT_EQ(w.send(verb::put, "/api/v1/users/alice/follow", {}, {}, w.token(other)).status, 200);
  for (auto c : {anonymous, owner, other, admin}) {
    std::set<std::string> listed;
    for (const char* target : {"/api/v1/users/alice/photos?limit=100",
                               "/api/v1/feed/public?limit=100", "/api/v1/search?q=macro&limit=100",
                               "/api/v1/tags/macro?limit=100", "/api/v1/feed/home?limit=100"}) {
      if (c == anonymous && std::string(target) == "/api/v1/feed/home?limit=100") continue;
      auto r = w.send(verb::get, target, {}, {}, w.token(c));
      ASSERT_EQ(r.status, 200) << target << " as " << caller_names[c] << ": " << r.body;
      auto j = r.json();
      std::vector<json> items;
      for (const char* list : {"photos", "items"})
        if (j.contains(list) && j[list].is_array())
          for (auto& p : j[list]) items.push_back(p);
      if (j.contains("photos") && j["photos"].is_object())
        for (auto& p : j["photos"]["items"]) items.push_back(p);
      for (const auto& p : items) {
        auto id = p.value("id", "");
        for (const auto& kind : photo_kinds())
          if (id == w.param("/api/v1/photos/{id}", "id", kind)) {
            if (c == anonymous || c == other)
              EXPECT_EQ(kind, "public")
                  << target << " shows a " << kind << " photo to " << caller_names[c];
            listed.insert(kind);
          }
      }
    }
    if (c == owner || c == admin)  // their own listing holds every photo, whatever its state
      EXPECT_EQ(listed.size(), photo_kinds().size()) << caller_names[c];
    else
      EXPECT_EQ(listed, std::set<std::string>{"public"}) << caller_names[c];
  }
}

TEST(authz_matrix, cache_headers_follow_visibility) {
  auto& w = shared_world();
  auto original = [&](const std::string& kind, caller c) {
    return w.send(verb::get,
                  "/api/v1/photos/" + w.param("/api/v1/photos/{id}", "id", kind) + "/original", {},
                  {}, w.token(c));
  };
  for (auto c : {anonymous, owner}) {
    auto r = original("public", c);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["Cache-Control"], "public, max-age=31536000, immutable");
  }
  for (const auto& kind : photo_kinds()) {
    if (kind == "public") continue;
    for (auto c : {owner, admin}) {
      auto r = original(kind, c);
      ASSERT_EQ(r.status, 200) << kind;
      EXPECT_EQ(r.headers["Cache-Control"].rfind("private", 0), 0u)
          << kind << " as " << caller_names[c] << ": " << r.headers["Cache-Control"];
    }
  }
  // Metadata carries liked_by_me: it depends on the Authorization header.
  auto id = w.param("/api/v1/photos/{id}", "id", "public");
  auto anon = w.send(verb::get, "/api/v1/photos/" + id, {}, {}, {});
  EXPECT_EQ(anon.headers["Vary"], "Authorization");
  auto mine = w.send(verb::get, "/api/v1/photos/" + id, {}, {}, w.token(owner));
  EXPECT_EQ(mine.headers["Vary"], "Authorization");
  EXPECT_EQ(mine.headers["Cache-Control"].rfind("private", 0), 0u) << mine.headers["Cache-Control"];
}
