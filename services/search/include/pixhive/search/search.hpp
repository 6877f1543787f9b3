#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/search.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/feed/cards.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::search {

/// Settings of the search service; declare() documents each one.
struct search_config {
  int workers = 2;

  /// Declares the search options.
  static void declare(options& opts);
  /// Reads them.
  static result<search_config> from(const options& opts);
};

/// Applies the search schema migrations: SQLite FTS5 tables, or PostgreSQL tsvector + GIN and
/// pg_trgm indexes (the extension is created when missing, which needs the right to do so).
result<void> migrate(store::database& db);

/// Spawns the search workers and subscribes them to the events that keep the index
/// (user.created, user.updated, photo.processed, photo.deleted). `from` assembles result cards
/// and is what reindexing reads.
contracts::search_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                              std::shared_ptr<bus::event_bus> events, feed::card_sources from,
                              const search_config& cfg);

/// Adds the search REST routes (under /api/v1) to `routes`.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::search_actor service);

/// The words of a query or a text as the index sees them: lower-case runs of letters and digits
/// (other UTF-8 characters are kept inside words), so "#Sunset!" is "sunset".
std::vector<std::string> words_of(const std::string& text);

/// The FTS5 `vis` column of a photo: "pxpublic" when public, and "pxowner<id>" always. A search
/// matches it against the viewer inside the index; query words are matched in `body` only, so
/// nobody can search for these tokens.
std::string visibility_tokens(bool is_public, int64_t owner_id);

/// How alike two names are, 0..1: pg_trgm's trigram similarity, or one minus the edit distance
/// (with transpositions) over the longer length when that is higher, so one typo in a short name
/// still matches.
double name_similarity(const std::string& a, const std::string& b);

}  // namespace pixhive::search
