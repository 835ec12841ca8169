//! `scan` reads exported logs of any shape: any bytes are read to the end,
//! every record handed over lies within the buffer at the offset and line
//! claimed, and nothing panics or loops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_scan::input::{read_buffer, Problem, Sink};

struct Check<'b> {
    buf: &'b [u8],
    records: usize,
}

impl Sink for Check<'_> {
    fn record(&mut self, text: &str, offset: u64, line: u64) -> Option<usize> {
        self.records += 1;
        assert!(line >= 1);
        let at = usize::try_from(offset).unwrap();
        assert!(self.buf.get(at..).is_some_and(|rest| rest.starts_with(text.as_bytes())));
        let (_, len) = trailguard_detect::Record::parse_first(text);
        len
    }
    fn problem(&mut self, p: Problem) {
        if let Some(o) = p.offset {
            assert!(o as usize <= self.buf.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sink = Check { buf: data, records: 0 };
    read_buffer(data, &mut sink);
    assert!(sink.records <= data.len());
});
