//! Reading logs: walking folders in a stable order, inflating gzip, and
//! telling the formats apart by content (never by name): a CloudTrail file
//! (`{"Records": [...]}`), a JSON array of records, or one record a line
//! (NDJSON). Each record comes with where it was: the byte offset and line in
//! the file's content (for a gzip file, in its inflated content).
//!
//! Bounds: a document (CloudTrail file or array) is held whole, up to
//! [`MAX_DOCUMENT`] inflated bytes; NDJSON is streamed a block at a time, and
//! a line longer than [`MAX_LINE`] is skipped and reported.

use crate::split::{self, newlines};
use flate2::read::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The largest document held whole (inflated).
pub const MAX_DOCUMENT: u64 = 1 << 30;
/// The longest NDJSON line read.
pub const MAX_LINE: usize = 16 << 20;
/// NDJSON is handed on in blocks of about this many bytes.
const BLOCK: usize = 4 << 20;

/// A place to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// The files under the given paths, in a stable order: each argument in
/// turn, a folder's entries sorted by name, recursively. Folders that cannot
/// be read are errors, returned beside the files found. Inside folders,
/// symbolic links to folders are not followed (a link back up would never
/// end), folders nest at most [`MAX_DEPTH`] deep, each file is read once
/// however many links lead to it, and anything that is not a regular file is
/// skipped and reported. A path given by name is read whatever it is (a FIFO,
/// `<(zcat ...)`).
pub fn walk(paths: &[PathBuf]) -> (Vec<Source>, Vec<(String, String)>) {
    let mut w = Walk::default();
    for p in paths {
        if p.as_os_str() == "-" {
            w.files.push(Source::Stdin);
        } else {
            w.visit(p, 0, true);
        }
    }
    // AWS's layout lists a day region by region; CloudTrail files are taken
    // in the order of the time in their names, so the remembering detectors
    // see events in time order. Other files keep their place before them.
    w.files.sort_by_cached_key(|s| match s {
        Source::File(p) => p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(cloudtrail_time),
        Source::Stdin => None,
    });
    (w.files, w.errors)
}

/// The time in a CloudTrail log file's name
/// (`<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`).
fn cloudtrail_time(name: &str) -> Option<String> {
    let mut parts = name.split('_');
    let (_, kind, _, stamp) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = kind == "CloudTrail"
        && stamp.len() == 14
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            13 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    valid.then(|| stamp.to_string())
}

/// The deepest folder walked.
pub const MAX_DEPTH: usize = 64;

#[derive(Default)]
struct Walk {
    files: Vec<Source>,
    errors: Vec<(String, String)>,
    seen: std::collections::HashSet<(u64, u64)>,
}

impl Walk {
    /// Whether a file was not read yet (by its device and inode).
    fn first_time(&mut self, meta: &std::fs::Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.seen.insert((meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            true
        }
    }

    fn visit(&mut self, path: &Path, depth: usize, named: bool) {
        let shown = || path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.errors.push((shown(), e.to_string()));
                return;
            }
        };
        if meta.is_dir() {
            if depth >= MAX_DEPTH {
                self.errors.push((
                    shown(),
                    format!("folders nest deeper than {MAX_DEPTH}; not read"),
                ));
                return;
            }
            self.folder(path, depth);
        } else if meta.is_file() || named {
            if self.first_time(&meta) {
                self.files.push(Source::File(path.to_path_buf()));
            }
        } else {
            self.errors
                .push((shown(), "not a regular file; skipped".into()));
        }
    }

    fn folder(&mut self, path: &Path, depth: usize) {
        let entries = match std::fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => {
                self.errors
                    .push((path.display().to_string(), e.to_string()));
                return;
            }
        };
        let mut children: Vec<(PathBuf, bool)> = entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let link = e.file_type().is_ok_and(|t| t.is_symlink());
                (e.path(), link)
            })
            .collect();
        children.sort();
        for (child, link) in children {
            // Hidden files (editor droppings, `.DS_Store`) are not logs.
            if child
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            if link && child.is_dir() {
                self.errors.push((
                    child.display().to_string(),
                    "a link to a folder; not followed".into(),
                ));
                continue;
            }
            self.visit(&child, depth + 1, false);
        }
    }
}

/// Something wrong with the input, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offset: Option<u64>,
    pub line: Option<u64>,
    pub message: String,
}

impl Problem {
    pub fn at(offset: u64, line: u64, message: impl Into<String>) -> Self {
        Self {
            offset: Some(offset),
            line: Some(line),
            message: message.into(),
        }
    }
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            offset: None,
            line: None,
            message: message.into(),
        }
    }
}

/// What reading a file produced, delivered as it goes.
pub trait Sink {
    /// A record starts at the beginning of `text` (which may run on past it,
    /// to the end of the buffer): read it, and say how long it was, or `None`
    /// when no JSON value could be read there (the reader then steps over it
    /// structurally). Problems with the record are the sink's to report.
    fn record(&mut self, text: &str, offset: u64, line: u64) -> Option<usize>;
    fn problem(&mut self, p: Problem);
    /// Bytes of content read.
    fn progress(&mut self, _bytes: u64) {}
    /// A block of records has been handed over.
    fn flush(&mut self) {}
}

/// Opens a source, inflating it when its first bytes are gzip's magic.
/// Returns the reader and, for a file, how large its content likely is (a
/// gzip file's trailer says; a hint only, bounded by the caller).
pub fn open(source: &Source) -> io::Result<(Box<dyn BufRead + Send>, Option<u64>)> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = match source {
        Source::Stdin => (Box::new(io::stdin()), None),
        Source::File(p) => {
            let f = std::fs::File::open(p)?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        }
    };
    // The magic is read whole, however the bytes arrive (a pipe may hand
    // over one at a time), and put back in front.
    let mut raw = raw;
    let mut magic = Vec::with_capacity(2);
    raw.by_ref().take(2).read_to_end(&mut magic)?;
    let gzip = magic == [0x1f, 0x8b];
    let buffered = BufReader::with_capacity(256 << 10, io::Cursor::new(magic).chain(raw));
    if gzip {
        let hint = match source {
            Source::File(p) => gzip_size(p).ok(),
            Source::Stdin => None,
        };
        Ok((
            Box::new(BufReader::with_capacity(
                256 << 10,
                MultiGzDecoder::new(buffered),
            )),
            hint,
        ))
    } else {
        Ok((Box::new(buffered), size))
    }
}

/// The inflated size a gzip file's trailer records (modulo 4 GiB).
fn gzip_size(path: &Path) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::End(-4))?;
    let mut tail = [0u8; 4];
    f.read_exact(&mut tail)?;
    Ok(u64::from(u32::from_le_bytes(tail)))
}

/// Whether text (after whitespace) opens a CloudTrail document.
fn opens_document(head: &[u8]) -> bool {
    let mut rest = head.trim_ascii_start();
    let Some(after) = rest.strip_prefix(b"{") else {
        return false;
    };
    rest = after.trim_ascii_start();
    rest.starts_with(b"\"Records\"")
}

/// How much of a source is looked at to tell its format.
const HEAD: usize = 512;

/// The first [`HEAD`] bytes (or all, if fewer), however slowly they come
/// (the caller puts them back in front), and the error that cut them short.
fn head(reader: &mut dyn BufRead) -> (Vec<u8>, Option<io::Error>) {
    let mut got = Vec::with_capacity(HEAD);
    loop {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (got, Some(e)),
        };
        if avail.is_empty() {
            return (got, None);
        }
        let take = avail.len().min(HEAD - got.len());
        got.extend_from_slice(avail.get(..take).unwrap_or_default());
        reader.consume(take);
        if got.len() >= HEAD {
            return (got, None);
        }
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads a whole source and hands its records to the sink.
pub fn read(source: &Source, sink: &mut dyn Sink) -> io::Result<()> {
    let (mut reader, hint) = open(source)?;
    let (mut first, cut) = head(reader.as_mut());
    // A byte-order mark (Windows tools write one) is not content; offsets
    // count from after it.
    let skipped = if first.starts_with(BOM) {
        first.drain(..BOM.len());
        BOM.len() as u64
    } else {
        0
    };
    if let Some(e) = cut {
        // Not even the start could be read whole: what there is, is read.
        if e.kind() == io::ErrorKind::PermissionDenied || e.kind() == io::ErrorKind::NotFound {
            return Err(e);
        }
        sink.progress(first.len() as u64);
        values(&first, skipped, 1, sink);
        sink.problem(Problem {
            offset: Some(first.len() as u64 + skipped),
            line: None,
            message: format!("the file ends early ({e})"),
        });
        sink.flush();
        return Ok(());
    }
    if first.is_empty() {
        return Ok(());
    }
    let lead = first.iter().copied().find(|b| !b.is_ascii_whitespace());
    let mut whole = io::Cursor::new(first.clone()).chain(reader);
    if lead == Some(b'[') || opens_document(&first) {
        let reserve = hint.unwrap_or(0).min(256 << 20) as usize;
        let mut buf = Vec::with_capacity(reserve + 1);
        let read = whole.by_ref().take(MAX_DOCUMENT + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            // What was inflated is still read, up to the first broken record.
            sink.problem(Problem {
                offset: Some(buf.len() as u64 + skipped),
                line: None,
                message: format!("the file ends early ({e})"),
            });
        }
        if buf.len() as u64 > MAX_DOCUMENT {
            sink.problem(Problem::whole(format!(
                "the document is larger than {} MiB inflated; split it or use NDJSON",
                MAX_DOCUMENT >> 20
            )));
            return Ok(());
        }
        sink.progress(buf.len() as u64);
        values(&buf, skipped, 1, sink);
        sink.flush();
        return Ok(());
    }
    let mut buffered = BufReader::with_capacity(256 << 10, whole);
    ndjson(&mut buffered, skipped, sink)
}

/// Reads a buffer already in memory as [`read`] reads a file's content.
pub fn read_buffer(buf: &[u8], sink: &mut dyn Sink) {
    let skipped = if buf.starts_with(BOM) { BOM.len() } else { 0 };
    values(
        buf.get(skipped..).unwrap_or_default(),
        skipped as u64,
        1,
        sink,
    );
    sink.flush();
}

/// Every JSON value in a buffer, in order, wherever one ends and the next
/// begins: CloudTrail files and arrays (one after another, as `cat` or a
/// multi-member gzip makes them), and records one a line or run together.
/// Each record is read once, in place, by the sink; one the sink cannot read
/// is stepped over structurally. Offsets and lines count from `base` and
/// `first_line`.
fn values(buf: &[u8], base: u64, first_line: u64, sink: &mut dyn Sink) {
    let (text, invalid_from) = match std::str::from_utf8(buf) {
        Ok(t) => (t, None),
        Err(e) => (
            std::str::from_utf8(buf.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
            Some(e.valid_up_to()),
        ),
    };
    let bytes = text.as_bytes();
    let mut at = Lines {
        bytes,
        counted: 0,
        line: first_line,
    };
    let mut i = 0usize;
    loop {
        i = split::skip_ws(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let line = at.line_of(i);
        let rest = text.get(i..).unwrap_or_default();
        // Where the value ends, and whether a failure was reported already.
        let (next, reported) =
            if b == b'[' || opens_document(rest.as_bytes().get(..64).unwrap_or(rest.as_bytes())) {
                (document(text, i, b == b'[', base, &mut at, sink), true)
            } else if b == b'{' {
                let end = match sink.record(rest, base + i as u64, line) {
                    Some(n) => Some(i + n.max(1)),
                    None => split::end_of_object(bytes, i),
                };
                (end, false)
            } else {
                (None, false)
            };
        match next {
            Some(end) => i = end,
            None => {
                // Not JSON here: report it and go on at the next line.
                if !reported {
                    sink.problem(Problem::at(
                        base + i as u64,
                        line,
                        "not a JSON record here; skipped to the next line",
                    ));
                }
                match memchr::memchr(b'\n', bytes.get(i..).unwrap_or_default()) {
                    Some(n) => i += n + 1,
                    None => break,
                }
            }
        }
    }
    if let Some(bad) = invalid_from {
        let line = at.line_of(bad);
        sink.problem(Problem::at(
            base + bad as u64,
            line,
            "the text is not UTF-8 from here; the rest was not read",
        ));
    }
}

/// Line numbers of offsets met in increasing order.
struct Lines<'b> {
    bytes: &'b [u8],
    counted: usize,
    line: u64,
}

impl Lines<'_> {
    fn line_of(&mut self, at: usize) -> u64 {
        if at > self.counted {
            self.line += newlines(self.bytes.get(self.counted..at).unwrap_or_default());
            self.counted = at;
        }
        self.line
    }
}

/// The length of the JSON value at the start of `text`, if there is one.
fn skip_value(text: &str) -> Option<usize> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    match stream.next() {
        Some(Ok(_)) => Some(stream.byte_offset()),
        _ => None,
    }
}

/// The records of a CloudTrail document or JSON array starting at `start`;
/// returns where the document ends, or `None` where it is broken (after
/// reporting it). Records before the break are still read; an element that
/// is not an object is reported and stepped over.
fn document(
    text: &str,
    start: usize,
    array: bool,
    base: u64,
    at: &mut Lines<'_>,
    sink: &mut dyn Sink,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let what = if array {
        "JSON array"
    } else {
        "CloudTrail file"
    };
    let broken = |i: usize, message: &str, sink: &mut dyn Sink, at: &mut Lines<'_>| {
        let line = at.line_of(i);
        sink.problem(Problem::at(
            base + i as u64,
            line,
            format!("the {what} is broken here: {message}"),
        ));
    };
    let mut i = match split::array_start(bytes.get(start..).unwrap_or_default(), array) {
        Ok(n) => start + n,
        Err(b) => {
            broken(start + b.offset, b.message, sink, at);
            return None;
        }
    };
    loop {
        i = split::skip_ws(bytes, i);
        let rest = text.get(i..).unwrap_or_default();
        match bytes.get(i) {
            Some(b']') => {
                i += 1;
                break;
            }
            Some(b'{') => {
                let line = at.line_of(i);
                let len = match sink.record(rest, base + i as u64, line) {
                    Some(n) => n,
                    None => match split::end_of_object(bytes, i) {
                        Some(end) => end - i,
                        None => {
                            broken(i, "a record is not closed", sink, at);
                            return None;
                        }
                    },
                };
                i += len.max(1);
            }
            Some(_) => match skip_value(rest) {
                Some(n) => {
                    let line = at.line_of(i);
                    sink.problem(Problem::at(
                        base + i as u64,
                        line,
                        "an element of the records is not an object; skipped",
                    ));
                    i += n.max(1);
                }
                None => {
                    broken(i, "an element of the records is not JSON", sink, at);
                    return None;
                }
            },
            None => {
                broken(i, "the records end early", sink, at);
                return None;
            }
        }
        i = split::skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b']') => {
                i += 1;
                break;
            }
            None => {
                broken(i, "the records end early", sink, at);
                return None;
            }
            _ => {
                broken(i, "records are not separated by commas", sink, at);
                return None;
            }
        }
    }
    if array {
        return Some(i);
    }
    // The file's object closes after its records (other keys are stepped over).
    let j = split::skip_ws(bytes, i);
    if bytes.get(j) == Some(&b'}') {
        return Some(j + 1);
    }
    match split::end_of_object(
        bytes,
        start + split::skip_ws(bytes.get(start..).unwrap_or_default(), 0),
    ) {
        Some(end) => Some(end),
        None => {
            broken(j, "the file's object is not closed", sink, at);
            None
        }
    }
}

/// One record a line, a block at a time.
fn ndjson(reader: &mut dyn BufRead, skipped: u64, sink: &mut dyn Sink) -> io::Result<()> {
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + (64 << 10));
    let mut offset = skipped;
    let mut line = 1u64;
    loop {
        block.clear();
        let mut ended = false;
        let mut huge = None;
        // Whole lines until the block is full.
        while block.len() < BLOCK {
            let start = block.len();
            match read_line(reader, &mut block) {
                Err(e) => {
                    block.truncate(start);
                    let at = offset + start as u64;
                    let ln = line + newlines(&block);
                    sink.problem(Problem::at(at, ln, format!("the file ends early: {e}")));
                    ended = true;
                    break;
                }
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) if n > MAX_LINE => {
                    block.truncate(start);
                    huge = Some(n);
                    break;
                }
                Ok(_) => {}
            }
        }
        sink.progress(block.len() as u64);
        values(&block, offset, line, sink);
        sink.flush();
        line += newlines(&block);
        offset += block.len() as u64;
        if let Some(n) = huge {
            sink.problem(Problem::at(
                offset,
                line,
                format!(
                    "a line of {n} bytes is longer than {} MiB; skipped",
                    MAX_LINE >> 20
                ),
            ));
            sink.progress(n as u64);
            offset += n as u64;
            line += 1;
        }
        if ended {
            return Ok(());
        }
    }
}

/// Reads one line (with its newline) onto `out`, returning its length. A
/// line longer than [`MAX_LINE`] is read to its end but only its first
/// [`MAX_LINE`] + 1 bytes kept.
fn read_line(reader: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0usize;
    loop {
        let (done, used) = {
            let avail = match reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                return Ok(total);
            }
            let (chunk, done) = match avail.iter().position(|b| *b == b'\n') {
                Some(i) => (avail.get(..=i).unwrap_or_default(), true),
                None => (avail, false),
            };
            if total <= MAX_LINE {
                let room = (MAX_LINE + 1).saturating_sub(total);
                out.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
            }
            (done, chunk.len())
        };
        reader.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Default)]
    struct Collect {
        records: Vec<(String, u64, u64)>,
        problems: Vec<Problem>,
    }

    impl Sink for Collect {
        fn record(&mut self, text: &str, offset: u64, line: u64) -> Option<usize> {
            let mut stream =
                serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
            match stream.next() {
                Some(Ok(_)) => {
                    let len = stream.byte_offset();
                    self.records.push((text[..len].to_string(), offset, line));
                    Some(len)
                }
                _ => None,
            }
        }
        fn problem(&mut self, p: Problem) {
            self.problems.push(p);
        }
    }

    fn read_bytes(bytes: &[u8]) -> Collect {
        let dir =
            std::env::temp_dir().join(format!("tg-input-{}-{}", std::process::id(), rand_suffix()));
        std::fs::write(&dir, bytes).unwrap();
        let mut c = Collect::default();
        read(&Source::File(dir.clone()), &mut c).unwrap();
        std::fs::remove_file(dir).unwrap();
        c
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn formats_are_told_by_content() {
        let doc = b"{\"Records\":[{\"a\":1},\n{\"b\":2}]}";
        for bytes in [doc.to_vec(), gzip(doc)] {
            let c = read_bytes(&bytes);
            assert_eq!(c.records.len(), 2);
            assert_eq!(c.records[1], ("{\"b\":2}".to_string(), 21, 2));
            assert!(c.problems.is_empty());
        }
        let arr = read_bytes(b" [ {\"a\":1}, {\"b\":2} ]");
        assert_eq!(arr.records.len(), 2);
        let nd = read_bytes(b"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}");
        assert_eq!(
            nd.records,
            vec![
                ("{\"a\":1}".to_string(), 0, 1),
                ("{\"b\":2}".to_string(), 9, 3),
                ("{\"c\":3}".to_string(), 18, 4),
            ]
        );
    }

    #[test]
    fn bad_input_is_reported_with_where() {
        let doc = gzip(b"{\"Records\":[{\"a\":1},{\"b\":2}]}");
        let truncated = &doc[..doc.len() - 12];
        let c = read_bytes(truncated);
        // What inflated before the cut is read; the cut is reported.
        assert!(c.records.len() <= 2);
        assert!(!c.problems.is_empty(), "{:?}", c.problems);
        let big: Vec<String> = (0..2000).map(|i| format!("{{\"n\":{i}}}")).collect();
        let whole = gzip(format!("{{\"Records\":[{}]}}", big.join(",")).as_bytes());
        let c = read_bytes(&whole[..whole.len() / 2]);
        assert!(
            c.records.len() > 100 && c.records.len() < 2000,
            "{}",
            c.records.len()
        );
        assert!(c.problems.iter().any(|p| p.message.contains("ends early")));
        let nd = gzip(b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        let c = read_bytes(&nd[..nd.len() - 10]);
        assert!(!c.problems.is_empty());
        let bad_doc = read_bytes(b"{\"Records\":[{\"a\":1},");
        assert_eq!(bad_doc.problems.len(), 1);
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.push(b'\n');
        long.extend_from_slice(b"{\"after\":1}\n");
        let c = read_bytes(&long);
        assert_eq!(
            c.records,
            vec![("{\"after\":1}".to_string(), (MAX_LINE + 11) as u64, 2)]
        );
        assert_eq!(c.problems[0].line, Some(1));
    }

    #[test]
    fn documents_one_after_another_and_values_run_together() {
        let one = b"{\"Records\":[{\"a\":1}]}";
        let two = b"{\"Records\":[{\"b\":2},{\"c\":3}]}\n";
        let mut both = one.to_vec();
        both.extend_from_slice(two);
        assert_eq!(read_bytes(&both).records.len(), 3);
        let mut gz = gzip(one);
        gz.extend(gzip(two));
        assert_eq!(read_bytes(&gz).records.len(), 3, "two gzip members");
        let run = read_bytes(b"{\"a\":1}{\"b\":2} {\"c\":3}\n{\"d\":4}");
        assert_eq!(run.records.len(), 4);
        assert_eq!(run.records[3].2, 2);
        let arrays = read_bytes(b"[{\"a\":1}][{\"b\":2}]");
        assert_eq!(arrays.records.len(), 2);
        let odd = read_bytes(b"{\"Records\":[1,{\"a\":1},\"x\",{\"b\":2}]}");
        assert_eq!(odd.records.len(), 2);
        assert_eq!(odd.problems.len(), 2);
    }

    #[test]
    fn cloudtrail_files_are_taken_in_time_order() {
        assert_eq!(
            cloudtrail_time("111122223333_CloudTrail_us-east-1_20261201T1005Z_abcd.json.gz")
                .as_deref(),
            Some("20261201T1005Z")
        );
        assert_eq!(cloudtrail_time("notes.txt"), None);
        assert_eq!(
            cloudtrail_time("1_CloudTrail_r_2026120XT1005Z_a.json.gz"),
            None
        );
        let dir =
            std::env::temp_dir().join(format!("tg-walk-{}-{}", std::process::id(), rand_suffix()));
        for (region, stamp) in [
            ("eu-west-1", "1000"),
            ("us-east-1", "0955"),
            ("us-east-1", "1010"),
        ] {
            let d = dir.join(region);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join(format!("1_CloudTrail_{region}_20261201T{stamp}Z_x.json.gz")),
                b"",
            )
            .unwrap();
        }
        std::fs::write(dir.join("export.ndjson"), b"").unwrap();
        let (files, _) = walk(std::slice::from_ref(&dir));
        let names: Vec<String> = files
            .iter()
            .map(|f| f.display().rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            vec![
                "export.ndjson",
                "1_CloudTrail_us-east-1_20261201T0955Z_x.json.gz",
                "1_CloudTrail_eu-west-1_20261201T1000Z_x.json.gz",
                "1_CloudTrail_us-east-1_20261201T1010Z_x.json.gz",
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_byte_order_mark_is_not_content() {
        let mut bom = BOM.to_vec();
        bom.extend_from_slice(b"{\"Records\":[{\"a\":1}]}");
        let c = read_bytes(&bom);
        assert_eq!(c.records, vec![("{\"a\":1}".to_string(), 15, 1)]);
        assert!(c.problems.is_empty());
    }

    #[test]
    #[cfg(unix)]
    fn a_slow_pipe_is_told_apart_as_well_as_a_file() {
        let dir =
            std::env::temp_dir().join(format!("tg-fifo-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in [
            ("plain", b"{\"Records\":[{\"a\":1},{\"b\":2}]}".to_vec()),
            ("gz", gzip(b"{\"Records\":[{\"a\":1},{\"b\":2}]}")),
        ] {
            let fifo = dir.join(name);
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            let path = fifo.clone();
            let writer = std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                for b in body {
                    f.write_all(&[b]).unwrap();
                    f.flush().unwrap();
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            });
            let mut c = Collect::default();
            read(&Source::File(fifo), &mut c).unwrap();
            writer.join().unwrap();
            assert_eq!(c.records.len(), 2, "{name}: {:?}", c.problems);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
