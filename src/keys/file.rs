//! The JSON key file (format described in the module docs of [`crate::keys`]).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::signing_key::SigningKey;
use super::{KeyAlgorithm, KeyError, KeySet};

const FORMAT: &str = "tokenward-keys/1";
/// Key files are small; a larger one is a mistake (or an attack) and is not read.
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    format: String,
    active: String,
    #[serde(default)]
    id_token: Option<String>,
    keys: Vec<KeyIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyIn {
    kid: String,
    alg: String,
    key: SecretString,
    #[serde(default)]
    created: Option<i64>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    active: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    keys: Vec<KeyOut<'a>>,
}

#[derive(Serialize)]
struct KeyOut<'a> {
    kid: &'a str,
    alg: &'static str,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<i64>,
}

impl KeySet {
    /// Parses a key file's contents.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        parse(text, Path::new(""))
    }

    /// The key file's contents. They hold private keys: treat them as a secret.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut out = FileOut {
            format: FORMAT,
            active: self.active().kid(),
            id_token: self.id_token_kid(),
            keys: self
                .keys()
                .iter()
                .map(|k| KeyOut {
                    kid: k.kid(),
                    alg: k.algorithm().name(),
                    key: URL_SAFE_NO_PAD.encode(k.private_bytes()),
                    created: k.created(),
                })
                .collect(),
        };
        // Serialising strings and integers into a String cannot fail.
        let json = Zeroizing::new(serde_json::to_string_pretty(&out).unwrap_or_default());
        for key in &mut out.keys {
            key.key.zeroize();
        }
        json
    }

    /// Loads a key file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        check_private(&file, path)?;
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(file_error(path, "(file)", "larger than 1 MiB"));
        }
        parse(&text, path)
    }

    /// Writes the key file atomically (a temporary file in the same directory, synced, then
    /// renamed over `path`), readable by the owner only.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        self.write_file(path.as_ref(), true)
    }

    fn write_file(&self, path: &Path, replace: bool) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // tempfile creates the file with mode 0600 on Unix.
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(self.to_json().as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        if replace {
            tmp.persist(path).map_err(|e| io(e.error))?;
        } else {
            tmp.persist_noclobber(path).map_err(|e| io(e.error))?;
        }
        Ok(())
    }

    /// Loads the key file at `path`, or generates a set with one `algorithm` key and saves it
    /// there if no file exists. A file that exists but does not load is an error, never replaced.
    /// Several processes starting at once on one path all end up with the same keys: the first
    /// to write wins and the others load its file.
    pub fn load_or_generate(
        path: impl AsRef<Path>,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, KeyError> {
        Self::load_or_create(path.as_ref(), || Self::generate(algorithm))
    }

    /// [`Self::load_or_generate`] for an OpenID provider: a new file gets an id_token key too
    /// ([`KeySet::ensure_id_token_key`]), and a file without one gets one added and is saved
    /// again. (That upgrade of an existing file is a read-modify-write: start a single instance
    /// first when several share the file.)
    pub fn load_or_generate_with_id_token(
        path: impl AsRef<Path>,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let mut set = Self::load_or_create(path, || {
            let mut set = Self::generate(algorithm)?;
            set.ensure_id_token_key()?;
            Ok(set)
        })?;
        if set.ensure_id_token_key()? {
            set.save(path)?;
        }
        Ok(set)
    }

    fn load_or_create(
        path: &Path,
        generate: impl FnOnce() -> Result<Self, KeyError>,
    ) -> Result<Self, KeyError> {
        match Self::load(path) {
            Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let set = generate()?;
                match set.write_file(path, false) {
                    Ok(()) => Ok(set),
                    Err(KeyError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists =>
                    {
                        Self::load(path)
                    }
                    Err(err) => Err(err),
                }
            }
            other => other,
        }
    }
}

/// Refuses a key file that group or others may read or write, or that another user owns (and
/// could therefore replace with keys of their choosing).
#[cfg(unix)]
fn check_private(file: &std::fs::File, path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = file.metadata().map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let insecure = |reason: String| KeyError::InsecureFile {
        path: path.to_path_buf(),
        reason,
    };
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(insecure(format!(
            "is accessible by group or others (mode {mode:03o}); run: chmod 600 {}",
            path.display()
        )));
    }
    let owner = metadata.uid();
    let me = rustix::process::geteuid().as_raw();
    if owner != me {
        return Err(insecure(format!(
            "is owned by uid {owner}, not by this process's uid {me}; run: chown {me} {}",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &std::fs::File, _: &Path) -> Result<(), KeyError> {
    Ok(())
}

fn file_error(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> KeyError {
    KeyError::File {
        path: PathBuf::from(path),
        field: field.into(),
        reason: reason.into(),
    }
}

fn parse(text: &str, path: &Path) -> Result<KeySet, KeyError> {
    let file: FileIn = serde_json::from_str(text).map_err(|e| {
        // serde_json's message names the field and position; a value is only ever quoted for
        // a wrong type, and key material is always a string, so no secret reaches it.
        file_error(path, format!("line {} column {}", e.line(), e.column()), {
            let message = e.to_string();
            message
                .split(" at line ")
                .next()
                .unwrap_or("invalid JSON")
                .to_owned()
        })
    })?;
    if file.format != FORMAT {
        return Err(file_error(path, "format", format!("expected \"{FORMAT}\"")));
    }
    if file.keys.is_empty() {
        return Err(file_error(path, "keys", "no keys"));
    }
    let mut active = None;
    let mut others = Vec::new();
    for (i, entry) in file.keys.into_iter().enumerate() {
        let field = |name: &str| format!("keys[{i}].{name}");
        let algorithm: KeyAlgorithm = entry
            .alg
            .parse()
            .map_err(|e: KeyError| file_error(path, field("alg"), e.to_string()))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(entry.key.expose_secret().as_bytes())
                .map_err(|_| file_error(path, field("key"), "not unpadded base64url"))?,
        );
        let key =
            SigningKey::from_private_bytes(entry.kid.clone(), algorithm, bytes).map_err(|e| {
                let name = if matches!(e, KeyError::InvalidKid) {
                    "kid"
                } else {
                    "key"
                };
                file_error(path, field(name), e.to_string())
            })?;
        let key = match entry.created {
            Some(created) => key.with_created(created),
            None => key,
        };
        if entry.kid == file.active && active.is_none() {
            active = Some(key);
        } else {
            others.push((i, key));
        }
    }
    let active = active.ok_or_else(|| file_error(path, "active", "names no key in \"keys\""))?;
    let mut set = KeySet::new(active);
    let mut id_token_key = None;
    for (i, key) in others {
        if file.id_token.as_deref() == Some(key.kid()) && id_token_key.is_none() {
            id_token_key = Some(key);
            continue;
        }
        set = set
            .with_verification_key(key)
            .map_err(|e| file_error(path, format!("keys[{i}].kid"), e.to_string()))?;
    }
    match (file.id_token, id_token_key) {
        (None, _) => {}
        (Some(_), Some(key)) => {
            set = set
                .with_id_token_key(key)
                .map_err(|e| file_error(path, "id_token", e.to_string()))?;
        }
        (Some(_), None) => {
            return Err(file_error(
                path,
                "id_token",
                "names no key in \"keys\" other than the active one",
            ));
        }
    }
    Ok(set)
}
