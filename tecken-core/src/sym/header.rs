//! The header of a `.sym` file: its MODULE line and INFO records.

use serde::{Deserialize, Serialize};

use super::Lines;
use crate::error::{Error, ErrorKind, Result};

/// How far into a file [`parse_header`] looks for the MODULE line and INFO records before it
/// gives up. Real headers are a few hundred bytes; a generous bound keeps the parse cheap on
/// a 500 MB file that has no header at all.
const HEADER_SCAN_LIMIT: usize = 1 << 20;

/// `INFO CODE_ID <id> [<name>]`: the code id and, for PE files, the code file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeId {
    /// The code id as written (e.g. `60533C886EFD000` or a build id).
    pub id: String,
    /// The code file name (`xul.dll`), present for Windows modules.
    pub file: Option<String>,
}

/// The MODULE line and INFO records of a `.sym` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymHeader {
    /// Operating system (`Linux`, `windows`, `mac`, ...), as written.
    pub os: String,
    /// CPU architecture (`x86_64`, `arm64`, `riscv64`, ...); unknown ones are accepted.
    pub arch: String,
    /// The debug id, upper-cased (`D48F191186D67E69DF025AD71FB91E1F0`).
    pub debug_id: String,
    /// The debug file name (`xul.pdb`, `libxul.so`).
    pub debug_file: String,
    /// `INFO CODE_ID`, if present.
    pub code_id: Option<CodeId>,
    /// `INFO GENERATOR`, if present (`mozilla/dump_syms 2.3.7`).
    pub generator: Option<String>,
    /// Every other INFO record as `(key, value)`, in file order.
    pub info: Vec<(String, String)>,
    /// `true` when the first INFO record has the 4-field form `INFO CODE_ID <id> <name>`,
    /// which is what Eliot checks before it names a module by its PE file.
    pub first_info_is_pe_code_id: bool,
}

impl SymHeader {
    /// The module name Eliot shows in v5 responses: the PE name of a 4-field first INFO
    /// record (`INFO CODE_ID <id> <name>`), else `None` (use the requested debug file).
    pub fn pe_name(&self) -> Option<&str> {
        if !self.first_info_is_pe_code_id {
            return None;
        }
        self.code_id.as_ref().and_then(|c| c.file.as_deref())
    }

    /// Applies one INFO line (without the `INFO ` prefix). `first` is whether it is the
    /// file's first INFO record.
    pub(crate) fn apply_info(&mut self, rest: &[u8], first: bool) {
        let text = String::from_utf8_lossy(rest);
        let text = text.trim();
        let (key, value) = match text.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (text, ""),
        };
        match key {
            "CODE_ID" => {
                let mut parts = value.split_whitespace();
                let id = parts.next().unwrap_or("").to_owned();
                let file = parts.next().map(str::to_owned);
                if first && file.is_some() {
                    self.first_info_is_pe_code_id = true;
                }
                if self.code_id.is_none() {
                    self.code_id = Some(CodeId { id, file });
                }
            }
            "GENERATOR" => {
                if self.generator.is_none() {
                    self.generator = Some(value.to_owned());
                }
            }
            _ => self.info.push((key.to_owned(), value.to_owned())),
        }
    }
}

/// Parses a MODULE line (without the `MODULE ` prefix).
pub(crate) fn parse_module(rest: &[u8]) -> Option<SymHeader> {
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.trim().splitn(4, char::is_whitespace);
    let os = parts.next().filter(|s| !s.is_empty())?;
    let arch = parts.next().filter(|s| !s.is_empty())?;
    let id = parts.next().filter(|s| !s.is_empty())?;
    let name = parts.next().map(str::trim).unwrap_or("");
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(SymHeader {
        os: os.to_owned(),
        arch: arch.to_owned(),
        debug_id: id.to_ascii_uppercase(),
        debug_file: name.to_owned(),
        ..SymHeader::default()
    })
}

/// Parses just the header of a `.sym` file: the MODULE line and the INFO records that follow
/// it. Reads no further than the first other record, so it is cheap on any file size.
///
/// Fails with [`ErrorKind::MalformedSym`] when the first non-blank line is not a valid
/// MODULE line.
///
/// ```
/// let h = tecken_core::parse_sym_header(
///     b"MODULE windows x86_64 0185139c8f04ffc94c4c44205044422e1 xul.pdb\n\
///       INFO CODE_ID 60533C886EFD000 xul.dll\nFILE 0 a.c\n",
/// ).unwrap();
/// assert_eq!(h.debug_id, "0185139C8F04FFC94C4C44205044422E1");
/// assert_eq!(h.pe_name(), Some("xul.dll"));
/// ```
pub fn parse_header(bytes: &[u8]) -> Result<SymHeader> {
    let window = &bytes[..bytes.len().min(HEADER_SCAN_LIMIT)];
    let mut header: Option<SymHeader> = None;
    let mut seen_info = false;
    for (_, line) in Lines::new(window) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match header.as_mut() {
            None => {
                let rest = line.strip_prefix(b"MODULE ").ok_or_else(|| {
                    Error::new(
                        ErrorKind::MalformedSym,
                        "not a breakpad .sym file: it does not start with a MODULE line",
                    )
                })?;
                header = Some(parse_module(rest).ok_or_else(|| {
                    Error::new(
                        ErrorKind::MalformedSym,
                        "malformed MODULE line: expected `MODULE <os> <arch> <id> <name>`",
                    )
                })?);
            }
            Some(h) => match line.strip_prefix(b"INFO ") {
                Some(rest) => {
                    h.apply_info(rest, !seen_info);
                    seen_info = true;
                }
                None => break,
            },
        }
    }
    header.ok_or_else(|| Error::new(ErrorKind::MalformedSym, "empty .sym file: no MODULE line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_and_infos() {
        let h = parse_header(
            b"MODULE Linux x86_64 0905ae80cee75a33e3cab61c274274de0 testproj\r\n\
              INFO CODE_ID 80AE0509E7CE335AE3CAB61C274274DE96049B64\r\n\
              INFO GENERATOR mozilla/dump_syms 2.3.7\r\nINFO RELEASECHANNEL nightly\r\nFILE 0 x\r\n",
        )
        .unwrap();
        assert_eq!(h.os, "Linux");
        assert_eq!(h.debug_id, "0905AE80CEE75A33E3CAB61C274274DE0");
        assert_eq!(h.debug_file, "testproj");
        assert_eq!(
            h.code_id.as_ref().unwrap().id,
            "80AE0509E7CE335AE3CAB61C274274DE96049B64"
        );
        assert_eq!(h.pe_name(), None);
        assert_eq!(h.generator.as_deref(), Some("mozilla/dump_syms 2.3.7"));
        assert_eq!(
            h.info,
            vec![("RELEASECHANNEL".to_owned(), "nightly".to_owned())]
        );
    }

    #[test]
    fn debug_file_with_spaces_and_unknown_arch() {
        let h = parse_header(b"MODULE Linux riscv64 ABC my lib.so\n").unwrap();
        assert_eq!(h.arch, "riscv64");
        assert_eq!(h.debug_file, "my lib.so");
    }

    #[test]
    fn pe_name_only_from_first_info() {
        let h =
            parse_header(b"MODULE windows x86 AB x.pdb\nINFO GENERATOR g\nINFO CODE_ID 12 x.dll\n")
                .unwrap();
        assert_eq!(h.code_id.as_ref().unwrap().file.as_deref(), Some("x.dll"));
        assert_eq!(h.pe_name(), None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(
            parse_header(b"\x00\x01garbage").unwrap_err().kind(),
            ErrorKind::MalformedSym
        );
        assert_eq!(
            parse_header(b"").unwrap_err().kind(),
            ErrorKind::MalformedSym
        );
        assert_eq!(
            parse_header(b"MODULE Linux\n").unwrap_err().kind(),
            ErrorKind::MalformedSym
        );
    }
}
