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
    let mut buffered = BufReader::with_capacity(256 << 10, raw);
    let head = buffered.fill_buf()?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
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

/// Reads a whole source and hands its records to the sink.
pub fn read(source: &Source, sink: &mut dyn Sink) -> io::Result<()> {
    let (mut reader, hint) = open(source)?;
    let head = reader.fill_buf()?;
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    if head.is_empty() {
        return Ok(());
    }
    if first == Some(b'[') || opens_document(head) {
        let reserve = hint.unwrap_or(0).min(256 << 20) as usize;
        let mut buf = Vec::with_capacity(reserve + 1);
        let read = reader.by_ref().take(MAX_DOCUMENT + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            // What was inflated is still read, up to the first broken record.
            sink.problem(Problem {
                offset: Some(buf.len() as u64),
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
        document(&buf, first == Some(b'['), sink);
        return Ok(());
    }
    ndjson(reader.as_mut(), sink)
}

/// The records of a CloudTrail document or JSON array, each read once, in
/// place, by the sink; a record the sink cannot read is stepped over
/// structurally. Records before a structural error are still read.
fn document(buf: &[u8], array: bool, sink: &mut dyn Sink) {
    let what = if array {
        "JSON array"
    } else {
        "CloudTrail file"
    };
    let (text, invalid_from) = match std::str::from_utf8(buf) {
        Ok(t) => (t, None),
        Err(e) => (
            std::str::from_utf8(buf.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
            Some(e.valid_up_to()),
        ),
    };
    let bytes = text.as_bytes();
    let mut line = 1u64;
    let mut counted = 0usize;
    let broken = |at: usize, counted: usize, line: u64, message: &str, sink: &mut dyn Sink| {
        let line = line + newlines(bytes.get(counted..at).unwrap_or_default());
        sink.problem(Problem::at(
            at as u64,
            line,
            format!("the {what} is broken here: {message}"),
        ));
    };
    let mut i = match split::array_start(bytes, array) {
        Ok(i) => i,
        Err(b) => {
            broken(b.offset, 0, 1, b.message, sink);
            return;
        }
    };
    loop {
        i = split::skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b']') => break,
            Some(b'{') => {
                line += newlines(bytes.get(counted..i).unwrap_or_default());
                counted = i;
                let rest = text.get(i..).unwrap_or_default();
                let len = match sink.record(rest, i as u64, line) {
                    Some(n) => n,
                    None => match split::end_of_object(bytes, i) {
                        Some(end) => end - i,
                        None => {
                            broken(i, counted, line, "a record is not closed", sink);
                            break;
                        }
                    },
                };
                i = split::skip_ws(bytes, i + len.max(1));
                match bytes.get(i) {
                    Some(b',') => i += 1,
                    Some(b']') => break,
                    None => {
                        broken(i, counted, line, "the records end early", sink);
                        break;
                    }
                    _ => {
                        broken(
                            i,
                            counted,
                            line,
                            "records are not separated by commas",
                            sink,
                        );
                        break;
                    }
                }
            }
            None if invalid_from.is_some() => {
                broken(i, counted, line, "the text is not UTF-8 from here", sink);
                break;
            }
            None => {
                broken(i, counted, line, "the records end early", sink);
                break;
            }
            Some(_) => {
                broken(
                    i,
                    counted,
                    line,
                    "an element of the records is not an object",
                    sink,
                );
                break;
            }
        }
    }
    sink.flush();
}

use crate::split::{self, newlines};

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
    let mut at = 0usize;
    for (this, raw) in (first_line..).zip(block.split_inclusive(|b| *b == b'\n')) {
        let offset = at;
        at += raw.len();
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        match std::str::from_utf8(trimmed) {
            Ok(text) => {
                let start = raw.len() - raw.trim_ascii_start().len();
                let _ = sink.record(text, base + (offset + start) as u64, this);
            }
            Err(_) => sink.problem(Problem::at(
                base + offset as u64,
                this,
                "the line is not UTF-8 text",
            )),
        }
    }
    sink.flush();
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
}
