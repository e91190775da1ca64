//! Secrets Verdict must be able to read back (a project's inference API key) are stored
//! sealed: XChaCha20-Poly1305 under a 256-bit key from the configuration, with the project's
//! id as associated data so a sealed value copied to another project does not open.
//!
//! A sealed value is `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext)>`; the key id (the
//! first 8 hex digits of the key's SHA-256) names the key that sealed it, so a value sealed
//! under another key is reported as such instead of as corrupt.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

const PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 24;

/// The key that seals and opens stored secrets. Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct SecretKey {
    cipher: Arc<XChaCha20Poly1305>,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// Why a stored value did not open.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OpenError {
    #[error("it is not a sealed value")]
    NotSealed,
    #[error("it was sealed with key {sealed_with}; the configured secret key is {configured}")]
    OtherKey {
        sealed_with: String,
        configured: String,
    },
    #[error("it is damaged or belongs to another record")]
    Damaged,
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let id = Sha256::digest(bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            cipher: Arc::new(XChaCha20Poly1305::new(bytes.into())),
            id,
        }
    }

    /// A fresh random key (tests; `load_or_create` writes one to a file).
    pub fn random() -> Self {
        Self::from_bytes(&XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key's id: 8 hex digits, safe to show and log.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the key file (32 bytes in base64, one line), or creates it with a new random key,
    /// readable by its owner only, when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text)
                .with_context(|| format!("reading the secret key file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                write_private(path, &format!("{}\n", STANDARD.encode(bytes)))
                    .with_context(|| format!("writing the secret key file {}", path.display()))?;
                let key = Self::from_bytes(&bytes);
                tracing::info!(path = %path.display(), key.id = key.id(), "secret key created");
                Ok(key)
            }
            Err(e) => {
                Err(e).with_context(|| format!("reading the secret key file {}", path.display()))
            }
        }
    }

    /// Reads a key file that must exist (an old key, say).
    pub fn load_existing(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the key file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("reading the key file {}", path.display()))
    }

    /// 32 bytes in standard base64 (surrounding whitespace ignored).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("the key is not base64")?;
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!(
                "the key must be 32 bytes (44 characters of base64), not {}",
                bytes.len()
            );
        };
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals `plain` for the record `owner`.
    pub fn seal(&self, owner: Uuid, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any message this size");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens a value `seal` made for `owner`.
    pub fn open(&self, owner: Uuid, stored: &str) -> Result<String, OpenError> {
        let rest = stored.strip_prefix(PREFIX).ok_or(OpenError::NotSealed)?;
        let (id, data) = rest.split_once(':').ok_or(OpenError::Damaged)?;
        if id != self.id {
            return Err(OpenError::OtherKey {
                sealed_with: id.to_owned(),
                configured: self.id.clone(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| OpenError::Damaged)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain).map_err(|_| OpenError::Damaged)
    }
}

/// Whether a stored value is sealed (values stored before sealing existed are not).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_for_its_owner_with_its_key_only() {
        let key = SecretKey::random();
        let owner = Uuid::new_v4();
        let sealed = key.seal(owner, "sk-secret-123");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("sk-secret"));
        assert_eq!(key.open(owner, &sealed).unwrap(), "sk-secret-123");
        // Sealing twice gives different text (a fresh nonce), both open.
        let again = key.seal(owner, "sk-secret-123");
        assert_ne!(sealed, again);
        assert_eq!(key.open(owner, &again).unwrap(), "sk-secret-123");
        // Another record, another key, a changed byte, plain text: refused, each named.
        assert_eq!(key.open(Uuid::new_v4(), &sealed), Err(OpenError::Damaged));
        let other = SecretKey::random();
        assert!(matches!(
            other.open(owner, &sealed),
            Err(OpenError::OtherKey { sealed_with, .. }) if sealed_with == key.id()
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.open(owner, std::str::from_utf8(&tampered).unwrap()),
            Err(OpenError::Damaged)
        );
        assert_eq!(key.open(owner, "sk-plain"), Err(OpenError::NotSealed));
        assert_eq!(
            key.open(owner, &format!("{PREFIX}{}:", key.id())),
            Err(OpenError::Damaged)
        );
    }

    #[test]
    fn the_key_file_is_created_once_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.id(), second.id());
        let owner = Uuid::new_v4();
        assert_eq!(second.open(owner, &first.seal(owner, "k")).unwrap(), "k");
        std::fs::write(&path, "c2hvcnQ=\n").unwrap();
        let error = SecretKey::load_or_create(&path).unwrap_err();
        assert!(
            format!("{error:#}").contains("must be 32 bytes"),
            "{error:#}"
        );
        assert!(format!("{:?}", first).starts_with("SecretKey("));
    }
}
