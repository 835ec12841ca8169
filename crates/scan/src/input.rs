//! Reading logs: walking folders in a stable order, inflating gzip, and
//! telling the formats apart by content (never by name): a CloudTrail file
//! (`{"Records": [...]}`), a JSON array of records, or one record a line
//! (NDJSON). Each record comes with where it was: the byte offset and line in
//! the file's content (for a gzip file, in its inflated content).
//!
//! Bounds: a document (CloudTrail file or array) is held whole, up to
//! [`MAX_DOCUMENT`] inflated bytes; NDJSON is streamed a block at a time, and
//! a line longer than [`MAX_LINE`] is skipped and reported.

use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use serde_json::value::RawValue;
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
/// be read are errors, returned beside the files found.
pub fn walk(paths: &[PathBuf]) -> (Vec<Source>, Vec<(String, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(Source::Stdin);
        } else {
            visit(p, &mut files, &mut errors);
        }
    }
    (files, errors)
}

fn visit(path: &Path, files: &mut Vec<Source>, errors: &mut Vec<(String, String)>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push((path.display().to_string(), e.to_string()));
            return;
        }
    };
    if meta.is_file() {
        files.push(Source::File(path.to_path_buf()));
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push((path.display().to_string(), e.to_string()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        // Hidden files (editor droppings, `.DS_Store`) are not logs.
        if child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        visit(&child, files, errors);
    }
}

/// A record's text and where it was.
pub struct Located<'a> {
    pub text: &'a str,
    pub offset: u64,
    pub line: u64,
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
    /// A block of records (all from one buffer).
    fn records(&mut self, records: &[Located<'_>]);
    fn problem(&mut self, p: Problem);
    /// Bytes read from the source (compressed bytes for gzip).
    fn progress(&mut self, _raw_bytes: u64) {}
}

/// Opens a source, inflating it when its first bytes are gzip's magic.
/// Returns the reader and the source's size when known.
pub fn open(source: &Source) -> io::Result<(Box<dyn BufRead + Send>, Option<u64>)> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = match source {
        Source::Stdin => (Box::new(io::stdin()), None),
        Source::File(p) => {
            let f = std::fs::File::open(p)?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        }
    };
    let mut buffered = BufReader::with_capacity(256 << 10, raw);
    let head = buffered.fill_buf()?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        Ok((
            Box::new(BufReader::with_capacity(
                256 << 10,
                MultiGzDecoder::new(buffered),
            )),
            size,
        ))
    } else {
        Ok((Box::new(buffered), size))
    }
}

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<&'a RawValue>,
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

/// Reads a whole source and hands its records to the sink.
pub fn read(source: &Source, sink: &mut dyn Sink) -> io::Result<()> {
    let (mut reader, _) = open(source)?;
    let head = reader.fill_buf()?;
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    if head.is_empty() {
        return Ok(());
    }
    if first == Some(b'[') || opens_document(head) {
        let mut buf = Vec::new();
        let read = reader.by_ref().take(MAX_DOCUMENT + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            sink.problem(Problem {
                offset: Some(buf.len() as u64),
                line: None,
                message: format!("the file ends early ({e}); its records were not read"),
            });
            return Ok(());
        }
        if buf.len() as u64 > MAX_DOCUMENT {
            sink.problem(Problem::whole(format!(
                "the document is larger than {} MiB inflated; split it or use NDJSON",
                MAX_DOCUMENT >> 20
            )));
            return Ok(());
        }
        sink.progress(buf.len() as u64);
        document(&buf, first == Some(b'['), sink);
        return Ok(());
    }
    ndjson(reader.as_mut(), sink)
}

/// The records of a CloudTrail document or JSON array.
fn document(buf: &[u8], array: bool, sink: &mut dyn Sink) {
    let Ok(text) = std::str::from_utf8(buf) else {
        sink.problem(Problem::whole("the file is not UTF-8 text"));
        return;
    };
    let parsed: Result<Vec<&RawValue>, _> = if array {
        serde_json::from_str(text)
    } else {
        serde_json::from_str::<Document<'_>>(text).map(|d| d.records)
    };
    let records = match parsed {
        Ok(r) => r,
        Err(e) => {
            let (line, column) = (e.line() as u64, e.column() as u64);
            sink.problem(Problem {
                offset: None,
                line: Some(line),
                message: format!(
                    "not a CloudTrail file or JSON array (line {line}, column {column}): {}",
                    describe(&e)
                ),
            });
            return;
        }
    };
    let base = text.as_ptr() as usize;
    let mut line = 1u64;
    let mut counted = 0usize;
    let mut located = Vec::with_capacity(records.len());
    for r in records {
        let offset = (r.get().as_ptr() as usize).saturating_sub(base);
        line += newlines(buf.get(counted..offset).unwrap_or_default());
        counted = offset;
        located.push(Located {
            text: r.get(),
            offset: offset as u64,
            line,
        });
    }
    sink.records(&located);
}

/// What kind of error a JSON parser met (its text may quote the input).
fn describe(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "a read error",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Eof => "the text ends early",
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// One record a line, a block at a time.
fn ndjson(reader: &mut dyn BufRead, sink: &mut dyn Sink) -> io::Result<()> {
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + (64 << 10));
    let mut offset = 0u64;
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
        lines(&block, offset, line, sink);
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

/// The records of a block of NDJSON lines.
fn lines(block: &[u8], base: u64, first_line: u64, sink: &mut dyn Sink) {
    let mut located = Vec::new();
    let mut at = 0usize;
    for (this, raw) in (first_line..).zip(block.split_inclusive(|b| *b == b'\n')) {
        let offset = at;
        at += raw.len();
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        match std::str::from_utf8(trimmed) {
            Ok(text) => located.push(Located {
                text,
                offset: base + offset as u64,
                line: this,
            }),
            Err(_) => sink.problem(Problem::at(
                base + offset as u64,
                this,
                "the line is not UTF-8 text",
            )),
        }
    }
    sink.records(&located);
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
        fn records(&mut self, records: &[Located<'_>]) {
            for r in records {
                self.records.push((r.text.to_string(), r.offset, r.line));
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
        assert!(c.records.is_empty());
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
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
}
