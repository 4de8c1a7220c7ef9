//! Evidence blob storage: the files units upload (PDF, images, Word, Excel, ODF), kept by content
//! on local disk (the default) or in an S3-compatible object store, behind one [`EvidenceStore`].
//!
//! An upload is streamed: it is written to a temporary object while its SHA-256 is computed and
//! its size counted, refused as soon as it passes the size limit, and checked twice for type
//! (the first bytes must be what the extension claims, see [`sniff`]). Only then is it moved to
//! its content address `sha256/ab/cd/<sha256>`; identical content is stored once. The name the
//! user gave is never part of any path: it is metadata for the database, cleaned by
//! [`safe_display_name`] for display.
//!
//! Memory per upload is bounded whatever the file size: the first [`sniff::SNIFF_LEN`] bytes,
//! a write buffer on disk, or on S3 the parts in flight ([`S3_PART_SIZE`] ×
//! ([`S3_PARTS_IN_FLIGHT`] + 1)).

mod error;
mod name;
pub mod sniff;

use std::error::Error as StdError;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

pub use error::{ALLOWED_TYPES_VI, EvidenceError};
pub use name::{MAX_DISPLAY_NAME_CHARS, extension_of, safe_display_name};

/// The default size limit of one evidence file: 100 MB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * MB;
const MB: u64 = 1024 * 1024;

/// The size of one S3 multipart part (S3's minimum for all but the last part).
pub const S3_PART_SIZE: usize = 5 * 1024 * 1024;
/// How many parts of one upload may be on the wire at once.
pub const S3_PARTS_IN_FLIGHT: usize = 2;
/// The write buffer of a local temporary file.
const LOCAL_WRITE_BUFFER: usize = 1024 * 1024;

/// Where temporary uploads live, inside the store (same disk or bucket, so publishing is a
/// rename or a server-side copy).
const TEMP_DIR: &str = "tmp";
/// Where blobs live: `sha256/ab/cd/<sha256>`.
const BLOB_DIR: &str = "sha256";

/// The limits an upload is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest accepted file, in bytes.
    pub max_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl UploadLimits {
    /// A limit in whole megabytes (MiB), as the configuration states it.
    pub fn from_mb(max_mb: u64) -> UploadLimits {
        UploadLimits {
            max_bytes: max_mb.saturating_mul(MB),
        }
    }

    fn max_mb(&self) -> u64 {
        self.max_bytes.div_ceil(MB)
    }
}

/// A stored evidence blob: what the database records about the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// The SHA-256 of the content, lowercase hex: the blob's identity.
    pub sha256_hex: String,
    /// The size in bytes.
    pub size: u64,
    /// The MIME type sniffed from the content (not the one the browser claimed).
    pub content_type: &'static str,
    /// The canonical extension of that type, without the dot (`pdf`, `docx`, …).
    pub extension: &'static str,
    /// True when the same content was already stored, so this upload added nothing.
    pub already_stored: bool,
}

/// A blob being downloaded: its size (for `Content-Length`) and its bytes as a stream.
pub struct EvidenceDownload {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, EvidenceError>>,
}

impl std::fmt::Debug for EvidenceDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceDownload")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Connection settings for an S3-compatible store (AWS, MinIO, Ceph, SeaweedFS…).
#[derive(Clone, Default)]
pub struct S3Settings {
    /// The endpoint, e.g. `http://127.0.0.1:9000`; AWS's own when unset.
    pub endpoint: Option<String>,
    /// The region; `us-east-1` when unset (what most S3-compatible servers expect).
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow plain HTTP to a non-loopback endpoint (loopback is always allowed).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<hidden>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Settings {
    /// Reads `PARINDEX_S3_ENDPOINT`, `PARINDEX_S3_REGION`, `PARINDEX_S3_ACCESS_KEY_ID`,
    /// `PARINDEX_S3_SECRET_ACCESS_KEY` and `PARINDEX_S3_ALLOW_HTTP` (`true`/`1`).
    pub fn from_env() -> S3Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        S3Settings {
            endpoint: var("PARINDEX_S3_ENDPOINT"),
            region: var("PARINDEX_S3_REGION"),
            access_key_id: var("PARINDEX_S3_ACCESS_KEY_ID"),
            secret_access_key: var("PARINDEX_S3_SECRET_ACCESS_KEY"),
            allow_http: var("PARINDEX_S3_ALLOW_HTTP")
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes")),
        }
    }
}

#[derive(Debug, Clone)]
enum Backend {
    /// Local disk; `root` is the canonical store folder (temporary files go to `root/tmp/`).
    Local {
        root: PathBuf,
    },
    S3,
}

/// The evidence blob store. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct EvidenceStore {
    objects: Arc<dyn ObjectStore>,
    backend: Backend,
    /// The URL it was opened with (without credentials, which never appear in URLs here).
    url: String,
}

impl std::fmt::Debug for EvidenceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceStore")
            .field("url", &self.url)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl EvidenceStore {
    /// Opens the store named by `url`:
    /// - `s3://bucket` or `s3://bucket/prefix`: an S3-compatible store, configured by `s3`
    ///   (path-style addressing; plain HTTP allowed to loopback endpoints);
    /// - `file:///abs/path` or a plain path: a folder on local disk, created if missing.
    pub fn open(url: &str, s3: &S3Settings) -> Result<EvidenceStore, EvidenceError> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            return Self::open_s3(url, rest, s3);
        }
        let path = if url.starts_with("file:") {
            url::Url::parse(url)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| {
                    EvidenceError::Config(format!("{url} is not an absolute file:// URL"))
                })?
        } else if url.contains("://") {
            return Err(EvidenceError::Config(format!(
                "unsupported storage URL {url}: use s3://bucket/prefix, file:///path or a path"
            )));
        } else if url.is_empty() {
            return Err(EvidenceError::Config("empty storage URL".to_string()));
        } else {
            PathBuf::from(url)
        };
        Self::open_local(&path, url)
    }

    /// [`EvidenceStore::open`] with the S3 settings from `PARINDEX_S3_*` variables.
    pub fn from_env(url: &str) -> Result<EvidenceStore, EvidenceError> {
        Self::open(url, &S3Settings::from_env())
    }

    fn open_local(path: &FsPath, url: &str) -> Result<EvidenceStore, EvidenceError> {
        let config = |what: &str, err: &dyn std::fmt::Display| {
            EvidenceError::Config(format!("{what} {}: {err}", path.display()))
        };
        std::fs::create_dir_all(path.join(TEMP_DIR))
            .map_err(|e| config("cannot create the evidence folder", &e))?;
        let root = std::fs::canonicalize(path).map_err(|e| config("cannot resolve", &e))?;
        // fsync files and folders on publish: an evidence file acknowledged is on disk.
        let local = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| config("cannot open", &e))?
            .with_fsync(true);
        Ok(EvidenceStore {
            objects: Arc::new(local),
            backend: Backend::Local { root },
            url: url.to_string(),
        })
    }

    fn open_s3(url: &str, rest: &str, s3: &S3Settings) -> Result<EvidenceStore, EvidenceError> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(EvidenceError::Config(format!("{url}: no bucket name")));
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(s3.region.as_deref().unwrap_or("us-east-1"))
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &s3.endpoint {
            let plain_http = endpoint.starts_with("http://");
            if plain_http && !s3.allow_http && !is_loopback_url(endpoint) {
                return Err(EvidenceError::Config(format!(
                    "{endpoint} is plain HTTP to another machine; use https or set \
                     PARINDEX_S3_ALLOW_HTTP=true"
                )));
            }
            builder = builder.with_endpoint(endpoint).with_allow_http(plain_http);
        }
        if let (Some(key), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        let s3_store = builder
            .build()
            .map_err(|e| EvidenceError::Config(format!("{url}: {e}")))?;
        let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3_store)
        } else {
            Arc::new(PrefixStore::new(s3_store, prefix))
        };
        Ok(EvidenceStore {
            objects,
            backend: Backend::S3,
            url: url.to_string(),
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stores an uploaded file, streamed from `stream`, under its content address.
    ///
    /// Refuses, storing nothing: an extension that is not accepted (before reading anything),
    /// content that is not what the extension claims, an empty file, a file over
    /// `limits.max_bytes` (as soon as it passes), and a stream that fails. `declared_name` is
    /// only used for its extension and in messages.
    pub async fn put_stream<S, E>(
        &self,
        stream: S,
        declared_name: &str,
        limits: &UploadLimits,
    ) -> Result<StoredBlob, EvidenceError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.put_stream_checked(stream, declared_name, limits, true)
            .await
    }

    /// Stores a data file the application itself reads back (a survey import's CSV or
    /// workbook), streamed and content-addressed like evidence but without the evidence type
    /// check: it is never served as evidence. Its content type is `application/octet-stream`.
    pub async fn put_data_stream<S, E>(
        &self,
        stream: S,
        declared_name: &str,
        limits: &UploadLimits,
    ) -> Result<StoredBlob, EvidenceError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.put_stream_checked(stream, declared_name, limits, false)
            .await
    }

    async fn put_stream_checked<S, E>(
        &self,
        stream: S,
        declared_name: &str,
        limits: &UploadLimits,
        evidence: bool,
    ) -> Result<StoredBlob, EvidenceError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let mut stream = std::pin::pin!(stream);
        let name = safe_display_name(declared_name);
        let extension = extension_of(declared_name);
        if evidence && sniff::Family::of_extension(&extension).is_none() {
            return Err(EvidenceError::ExtensionNotAllowed { name, extension });
        }
        let too_large = || EvidenceError::TooLarge {
            max_mb: limits.max_mb(),
        };

        // 1. The first bytes, to decide the type before anything is written.
        let mut pending: Vec<Bytes> = Vec::new();
        let mut size: u64 = 0;
        let mut finished = false;
        while size < sniff::SNIFF_LEN as u64 {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > limits.max_bytes {
                        return Err(too_large());
                    }
                    pending.push(chunk);
                }
                Some(Err(e)) => return Err(EvidenceError::Interrupted(e.into())),
                None => {
                    finished = true;
                    break;
                }
            }
        }
        if size == 0 {
            return Err(EvidenceError::Empty { name });
        }
        let kind = {
            let mut head = Vec::with_capacity(sniff::SNIFF_LEN.min(size as usize));
            for chunk in &pending {
                let room = sniff::SNIFF_LEN - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            if evidence {
                sniff::check(&head, &extension, &name)?
            } else {
                sniff::Kind {
                    family: sniff::Family::Excel,
                    content_type: "application/octet-stream",
                    extension: "bin",
                    description_vi: "dữ liệu",
                }
            }
        };
        let mut hasher = Sha256::new();

        // 2a. Small files (all read already): one write, straight to their address.
        if finished {
            for chunk in &pending {
                hasher.update(chunk);
            }
            let sha256_hex = hex::encode(hasher.finalize());
            let key = blob_key(&sha256_hex);
            let already_stored = self.head_exists(&key).await?;
            if already_stored {
                self.touch(&key);
            } else {
                let payload: PutPayload = pending.into_iter().collect();
                self.objects
                    .put(&key, payload)
                    .await
                    .map_err(|e| EvidenceError::internal("storing a small file", e))?;
            }
            return Ok(StoredBlob {
                sha256_hex,
                size,
                content_type: kind.content_type,
                extension: kind.extension,
                already_stored,
            });
        }

        // 2b. The rest: through a temporary object, hashing and counting on the way.
        let mut temp = TempUpload::start(self).await?;
        for chunk in pending {
            hasher.update(&chunk);
            if let Err(e) = temp.write(chunk).await {
                temp.abort().await;
                return Err(e);
            }
        }
        loop {
            let chunk = match stream.next().await {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    // Converted first: the client's error type need not be `Send`.
                    let interrupted = EvidenceError::Interrupted(e.into());
                    temp.abort().await;
                    return Err(interrupted);
                }
            };
            size += chunk.len() as u64;
            if size > limits.max_bytes {
                temp.abort().await;
                return Err(too_large());
            }
            hasher.update(&chunk);
            if let Err(e) = temp.write(chunk).await {
                temp.abort().await;
                return Err(e);
            }
        }
        let temp_key = temp.finish().await?;
        let sha256_hex = hex::encode(hasher.finalize());
        let already_stored = self.publish(&temp_key, &blob_key(&sha256_hex)).await?;
        Ok(StoredBlob {
            sha256_hex,
            size,
            content_type: kind.content_type,
            extension: kind.extension,
            already_stored,
        })
    }

    /// Moves a finished temporary object to its content address; returns true when the address
    /// was already taken (same content: the temporary is dropped).
    async fn publish(&self, temp: &Path, key: &Path) -> Result<bool, EvidenceError> {
        let already_stored = match self.backend {
            // A hard link that fails if the target exists, then unlink: atomic, no copy.
            Backend::Local { .. } => match self.objects.rename_if_not_exists(temp, key).await {
                Ok(()) => false,
                Err(object_store::Error::AlreadyExists { .. }) => true,
                Err(e) => {
                    self.delete_quietly(temp).await;
                    return Err(EvidenceError::internal("publishing an upload", e));
                }
            },
            // Plain S3 has no copy-if-absent; a race between two identical uploads writes the
            // same bytes twice, which is harmless.
            Backend::S3 => {
                let exists = self.head_exists(key).await;
                let result = match exists {
                    Ok(true) => Ok(true),
                    Ok(false) => self
                        .objects
                        .copy(temp, key)
                        .await
                        .map(|()| false)
                        .map_err(|e| EvidenceError::internal("publishing an upload", e)),
                    Err(e) => Err(e),
                };
                self.delete_quietly(temp).await;
                return result;
            }
        };
        if already_stored {
            self.delete_quietly(temp).await;
            self.touch(key);
        }
        Ok(already_stored)
    }

    /// The blob with this SHA-256, as a stream with its size.
    pub async fn get(&self, sha256_hex: &str) -> Result<EvidenceDownload, EvidenceError> {
        let key = blob_key(&parse_sha256(sha256_hex)?);
        let result = self
            .objects
            .get(&key)
            .await
            .map_err(not_found_or("reading"))?;
        let size = result.meta.size;
        let stream = result
            .into_stream()
            .map_err(|e| EvidenceError::internal("reading a blob", e))
            .boxed();
        Ok(EvidenceDownload { size, stream })
    }

    /// Whether a blob with this SHA-256 is stored.
    pub async fn exists(&self, sha256_hex: &str) -> Result<bool, EvidenceError> {
        self.head_exists(&blob_key(&parse_sha256(sha256_hex)?))
            .await
    }

    /// Deletes a blob (maintenance and tests; evidence is otherwise kept). Deleting a missing
    /// blob is not an error.
    pub async fn delete(&self, sha256_hex: &str) -> Result<(), EvidenceError> {
        let key = blob_key(&parse_sha256(sha256_hex)?);
        match self.objects.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(EvidenceError::internal("deleting a blob", e)),
        }
    }

    /// Every object key in the store, blobs and temporaries, sorted (maintenance and tests: on a
    /// large store, this is a long list).
    pub async fn list_keys(&self) -> Result<Vec<String>, EvidenceError> {
        let mut keys: Vec<String> = self
            .objects
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|e| EvidenceError::internal("listing the store", e))?;
        keys.sort();
        Ok(keys)
    }

    /// The SHA-256 of every stored blob (not the temporaries), sorted: what a backup copies.
    pub async fn blob_shas(&self) -> Result<Vec<String>, EvidenceError> {
        let mut shas: Vec<String> = self
            .objects
            .list(Some(&Path::from(BLOB_DIR)))
            .try_filter_map(|meta| {
                let sha = meta.location.filename().and_then(|f| parse_sha256(f).ok());
                std::future::ready(Ok(sha))
            })
            .try_collect()
            .await
            .map_err(|e| EvidenceError::internal("listing blobs", e))?;
        shas.sort();
        Ok(shas)
    }

    /// Deletes temporary uploads older than `older_than_ms` milliseconds (left by a crash);
    /// returns how many. On S3, also set a lifecycle rule aborting incomplete multipart uploads.
    pub async fn sweep_temporaries(&self, older_than_ms: i64) -> Result<usize, EvidenceError> {
        let cutoff = crate::now_ms() - older_than_ms;
        let stale: Vec<Path> = self
            .objects
            .list(Some(&Path::from(TEMP_DIR)))
            .try_filter(|meta| std::future::ready(meta.last_modified.timestamp_millis() < cutoff))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| EvidenceError::internal("listing temporaries", e))?;
        for key in &stale {
            self.delete_quietly(key).await;
        }
        Ok(stale.len())
    }

    /// Deletes blobs that no row refers to (`referenced` holds every SHA-256 the database
    /// names) and that are older than `older_than_ms` milliseconds: what a crash between
    /// storing a file and committing its row leaves behind. Returns how many.
    ///
    /// A blob found again by a new upload has its time refreshed first (local disk), and each
    /// candidate's time is read again just before it is deleted, so a file being attached
    /// right now is kept.
    pub async fn sweep_orphan_blobs(
        &self,
        referenced: &std::collections::HashSet<String>,
        older_than_ms: i64,
    ) -> Result<usize, EvidenceError> {
        let cutoff = crate::now_ms() - older_than_ms;
        let candidates: Vec<Path> = self
            .objects
            .list(Some(&Path::from(BLOB_DIR)))
            .try_filter(|meta| {
                let sha = meta.location.filename().unwrap_or_default();
                std::future::ready(
                    meta.last_modified.timestamp_millis() < cutoff
                        && parse_sha256(sha).is_ok_and(|sha| !referenced.contains(&sha)),
                )
            })
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| EvidenceError::internal("listing blobs", e))?;
        let mut deleted = 0;
        for key in &candidates {
            match self.objects.head(key).await {
                Ok(meta) if meta.last_modified.timestamp_millis() < cutoff => {
                    match self.objects.delete(key).await {
                        Ok(()) => deleted += 1,
                        Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => {
                            tracing::warn!(%key, error = %e, "could not delete an orphan blob")
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(deleted)
    }

    /// Marks a blob as just used (local disk: its modification time), so that the orphan
    /// sweep leaves it alone while its new row is being written.
    fn touch(&self, key: &Path) {
        if let Backend::Local { root } = &self.backend {
            let path = key
                .parts()
                .fold(root.clone(), |p, part| p.join(part.as_ref()));
            let touched = std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            if let Err(e) = touched {
                tracing::warn!(path = %path.display(), error = %e, "could not refresh a blob's time");
            }
        }
    }

    async fn head_exists(&self, key: &Path) -> Result<bool, EvidenceError> {
        match self.objects.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(EvidenceError::internal("checking a blob", e)),
        }
    }

    async fn delete_quietly(&self, key: &Path) {
        match self.objects.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(%key, error = %e, "could not delete a temporary upload"),
        }
    }
}

/// An upload in progress, before its SHA-256 is known.
enum TempUpload {
    /// A file in `root/tmp/`, written through a buffer.
    Local {
        file: tokio::io::BufWriter<tokio::fs::File>,
        path: PathBuf,
        key: Path,
    },
    /// An S3 multipart upload to `tmp/…`.
    S3 { upload: WriteMultipart, key: Path },
}

impl TempUpload {
    async fn start(store: &EvidenceStore) -> Result<TempUpload, EvidenceError> {
        let name = format!("upload-{}", random_hex());
        let key = Path::from_iter([TEMP_DIR, name.as_str()]);
        match &store.backend {
            Backend::Local { root } => {
                let path = root.join(TEMP_DIR).join(&name);
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .await
                    .map_err(|e| EvidenceError::internal("creating a temporary file", e))?;
                Ok(TempUpload::Local {
                    file: tokio::io::BufWriter::with_capacity(LOCAL_WRITE_BUFFER, file),
                    path,
                    key,
                })
            }
            Backend::S3 => {
                let upload = store
                    .objects
                    .put_multipart(&key)
                    .await
                    .map_err(|e| EvidenceError::internal("starting a multipart upload", e))?;
                Ok(TempUpload::S3 {
                    upload: WriteMultipart::new_with_chunk_size(upload, S3_PART_SIZE),
                    key,
                })
            }
        }
    }

    async fn write(&mut self, chunk: Bytes) -> Result<(), EvidenceError> {
        match self {
            TempUpload::Local { file, .. } => file
                .write_all(&chunk)
                .await
                .map_err(|e| EvidenceError::internal("writing a temporary file", e)),
            TempUpload::S3 { upload, .. } => {
                // Back-pressure: the client waits while parts are on the wire.
                upload
                    .wait_for_capacity(S3_PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| EvidenceError::internal("uploading a part", e))?;
                upload.put(chunk);
                Ok(())
            }
        }
    }

    /// Completes the temporary object and returns its key.
    async fn finish(self) -> Result<Path, EvidenceError> {
        match self {
            TempUpload::Local {
                mut file,
                path,
                key,
            } => {
                let done = async {
                    file.flush().await?;
                    file.get_mut().sync_all().await
                }
                .await;
                drop(file);
                if let Err(e) = done {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(EvidenceError::internal("writing a temporary file", e));
                }
                Ok(key)
            }
            // `finish` aborts the multipart upload itself when it fails.
            TempUpload::S3 { upload, key } => upload
                .finish()
                .await
                .map(|_| key)
                .map_err(|e| EvidenceError::internal("completing a multipart upload", e)),
        }
    }

    /// Drops whatever was written (best effort; a failure is logged, and the sweep removes it).
    async fn abort(self) {
        match self {
            TempUpload::Local { file, path, .. } => {
                drop(file);
                if let Err(e) = tokio::fs::remove_file(&path).await {
                    tracing::warn!(path = %path.display(), error = %e, "could not delete a temporary upload");
                }
            }
            TempUpload::S3 { upload, key } => {
                if let Err(e) = upload.abort().await {
                    tracing::warn!(%key, error = %e, "could not abort a multipart upload");
                }
            }
        }
    }
}

/// `sha256/ab/cd/<sha256>`: two levels of 256 folders keep any one folder small.
fn blob_key(sha256_hex: &str) -> Path {
    Path::from_iter([BLOB_DIR, &sha256_hex[0..2], &sha256_hex[2..4], sha256_hex])
}

/// A SHA-256 as 64 hex digits (either case), returned lowercase.
fn parse_sha256(text: &str) -> Result<String, EvidenceError> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(EvidenceError::InvalidSha256)
    }
}

fn not_found_or(context: &'static str) -> impl Fn(object_store::Error) -> EvidenceError {
    move |e| match e {
        object_store::Error::NotFound { .. } => EvidenceError::NotFound,
        e => EvidenceError::internal(context, e),
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}

/// Whether an endpoint URL points at this machine (plain HTTP is fine there).
fn is_loopback_url(endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_hashes() {
        let sha = "ab".repeat(32);
        assert_eq!(blob_key(&sha).to_string(), format!("sha256/ab/ab/{sha}"));
        assert_eq!(parse_sha256(&sha.to_uppercase()).unwrap(), sha);
        assert!(parse_sha256("../../etc/passwd").is_err());
        assert!(parse_sha256(&"g".repeat(64)).is_err());
    }

    #[test]
    fn urls() {
        assert!(is_loopback_url("http://127.0.0.1:9000"));
        assert!(is_loopback_url("http://localhost:9000"));
        assert!(is_loopback_url("http://[::1]:9000"));
        assert!(!is_loopback_url("http://10.0.0.5:9000"));
        let s3 = S3Settings {
            endpoint: Some("http://10.0.0.5:9000".into()),
            ..S3Settings::default()
        };
        assert!(matches!(
            EvidenceStore::open("s3://b/p", &s3),
            Err(EvidenceError::Config(_))
        ));
        assert!(matches!(
            EvidenceStore::open("ftp://x/y", &S3Settings::default()),
            Err(EvidenceError::Config(_))
        ));
        let secret = S3Settings {
            secret_access_key: Some("hunter2".into()),
            ..S3Settings::default()
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
