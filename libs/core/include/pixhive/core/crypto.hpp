#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pixhive::crypto {

/// Initialises libsodium; safe to call more than once.
void init();

/// `n` random bytes from the OS CSPRNG.
std::string random_bytes(size_t n);

/// A random, URL-safe token carrying `n` bytes of entropy.
std::string random_token(size_t n = 32);

/// A random string of `n` decimal digits (uniform).
std::string random_digits(size_t n);

/// Hex-encoded SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// Raw HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Base64url without padding (RFC 4648 §5), as JWTs use.
std::string base64url_encode(std::string_view data);
/// Decodes base64url without padding; nullopt on any invalid character.
std::optional<std::string> base64url_decode(std::string_view text);

/// Compares two strings in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// argon2id hash in the libsodium string format (salt and parameters included).
std::optional<std::string> password_hash(std::string_view password);
/// Checks `password` against a hash made by password_hash().
bool password_verify(std::string_view hash, std::string_view password);

}  // namespace pixhive::crypto
