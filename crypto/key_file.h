// The identity key file: a versioned text file with the Ed25519 seed, mode 0600.
//
//   polder-identity-v1
//   <64 hex digits: the 32-byte seed>
//
// Creation never overwrites an existing file; loading refuses a file that others can read.
#pragma once

#include <filesystem>

#include "crypto/identity.h"

namespace polder::crypto {

inline constexpr std::string_view kKeyFileHeader = "polder-identity-v1";

// Writes `key` to `path` atomically (temp file, fsync, link). Fails with kAlreadyExists if
// `path` exists.
Status WriteKeyFile(const std::filesystem::path& path, const SigningKey& key);

// Loads a key file. Fails with kPermission if group or others may read it.
Result<SigningKey> LoadKeyFile(const std::filesystem::path& path);

// The same format for other secrets (the circle's network key, the API token): a header line
// and the secret in hex, mode 0600, never overwritten, refused when others may read it.
Status WriteSecretFile(const std::filesystem::path& path, std::string_view header, ByteView secret);
// The same, replacing the file atomically (rename) if it exists: a rotated network key.
Status ReplaceSecretFile(const std::filesystem::path& path, std::string_view header,
                         ByteView secret);
Result<Bytes> LoadSecretFile(const std::filesystem::path& path, std::string_view header,
                             std::size_t size);

}  // namespace polder::crypto
