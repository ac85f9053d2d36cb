//! The ids of a binary: what `dump_syms` writes in the MODULE and `INFO CODE_ID` lines of the
//! `.sym` file it makes from an ELF, Mach-O or PE file, and so the store key of that `.sym`.
//!
//! The rules, per format (the reference is Breakpad's `dump_syms` and its `FileID` code, and
//! Mozilla's `dump_syms`, which made every `.sym` a Tecken store holds; where the two differ the
//! comment at the rule says which one is followed):
//!
//! - **ELF** (`Linux`). The identifier is the descriptor of the first note of type
//!   `NT_GNU_BUILD_ID` in a `PT_NOTE` segment, else in the `.note.gnu.build-id` section. Only
//!   the note type is checked, not its owner name, and notes are 4-byte aligned, as Breakpad
//!   walks them. Without a build id, the identifier is the first 4 KiB of `.text` folded by XOR
//!   into 16 bytes. The debug id is the identifier's first 16 bytes (zero-padded) read as a
//!   GUID whose first three fields are in the file's byte order, printed big-endian, plus the
//!   age `0`; the code id is the whole identifier in hex.
//! - **Mach-O** (`Mac`). The debug id is the `LC_UUID` in hex plus the age `0`; the code id is
//!   the UUID alone. A universal (fat) file holds one binary per architecture: the caller names
//!   the one it wants, as `dump_syms -a` does.
//! - **PE** (`windows`). The debug id is the GUID and age of the CodeView `RSDS` record, the
//!   debug file the basename of the PDB path in that record; the code id is the COFF
//!   `TimeDateStamp` (8 hex digits) followed by `SizeOfImage`, the code file the PE file's own
//!   name.
//!
//! Every byte read is bounds-checked: a truncated or hostile file gives an
//! [`ErrorKind::InvalidInput`] error, never a panic or a wrong id.

use object::elf;
use object::macho;
use object::pe;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::read::macho::{FatArch, MachHeader, MachOFatFile32, MachOFatFile64};
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile};
use object::{FileKind, LittleEndian as LE, Object};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::keys::ObjectKey;

/// How many bytes of `.text` Breakpad hashes when an ELF file has no build id.
const TEXT_HASH_BYTES: usize = 4096;
/// The size of a GUID, and of the identifier hashed from `.text`.
const GUID_BYTES: usize = 16;

/// What `dump_syms` writes for one binary: the MODULE line's fields and `INFO CODE_ID`.
///
/// ```
/// let elf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/generated/cdemo.elf"))
///     .unwrap();
/// let id = tecken_core::binary_id(&elf, "cdemo", None).unwrap();
/// assert_eq!(id.debug_id, "9B20C1922082E26C7610452F338E86710");
/// assert_eq!(id.key().unwrap().path(), "cdemo/9B20C1922082E26C7610452F338E86710/cdemo.sym");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryId {
    /// The operating system as the MODULE line names it: `Linux`, `Mac` or `windows`.
    pub os: String,
    /// The CPU architecture as Breakpad names it (`x86`, `x86_64`, `arm`, `arm64`, ...), or
    /// `unknown` for a machine type Breakpad has no name for.
    pub arch: String,
    /// The debug id, 33 or more upper-case hex digits (GUID and age).
    pub debug_id: String,
    /// The debug file: the PDB's basename for PE, else the binary's own name.
    pub debug_file: String,
    /// The code id of `INFO CODE_ID`, upper-case hex; `None` when `dump_syms` writes none.
    pub code_id: Option<String>,
    /// The code file of `INFO CODE_ID` (the PE file's name); `None` for ELF and Mach-O, whose
    /// `INFO CODE_ID` line names no file.
    pub code_file: Option<String>,
}

impl BinaryId {
    /// The store key of the module's `.sym` file (`ObjectKey::for_module`). Fails with
    /// [`ErrorKind::InvalidInput`] when the debug file is not a valid key part.
    pub fn key(&self) -> Result<ObjectKey> {
        ObjectKey::for_module(&self.debug_file, &self.debug_id)
    }
}

/// Reads the ids of an ELF, Mach-O or PE binary (see [`BinaryId`]).
///
/// `file_name` is the binary's name (a path is cut to its basename): the debug file of ELF
/// and Mach-O modules and the code file of PE ones. `arch` picks one architecture of a
/// universal Mach-O file, by its Breakpad name (`x86_64`, `arm64`); for any other file it is
/// checked against the file's architecture.
///
/// Fails with [`ErrorKind::InvalidInput`] when the bytes are not one of those formats, are
/// truncated or malformed, hold no id at all (PE without a CodeView `RSDS` record, Mach-O
/// without `LC_UUID`, ELF with neither a build id nor `.text`), or are a universal file and no
/// `arch` is given; with [`ErrorKind::NotFound`] when the file has no `arch` slice.
pub fn binary_id(bytes: &[u8], file_name: &str, arch: Option<&str>) -> Result<BinaryId> {
    let name = basename(file_name);
    if name.is_empty() {
        return Err(invalid("the binary's file name is empty"));
    }
    let kind = FileKind::parse(bytes)
        .map_err(|_| invalid("not an ELF, Mach-O or PE file (unknown magic)"))?;
    let id = match kind {
        FileKind::Elf32 => elf_id::<elf::FileHeader32<object::Endianness>>(bytes, name)?,
        FileKind::Elf64 => elf_id::<elf::FileHeader64<object::Endianness>>(bytes, name)?,
        FileKind::MachO32 => macho_id::<macho::MachHeader32<object::Endianness>>(bytes, name)?,
        FileKind::MachO64 => macho_id::<macho::MachHeader64<object::Endianness>>(bytes, name)?,
        FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(bytes).map_err(malformed("universal Mach-O"))?;
            return fat_id(bytes, fat.arches(), name, arch);
        }
        FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(bytes).map_err(malformed("universal Mach-O"))?;
            return fat_id(bytes, fat.arches(), name, arch);
        }
        FileKind::Pe32 => pe_id::<pe::ImageNtHeaders32>(bytes, name)?,
        FileKind::Pe64 => pe_id::<pe::ImageNtHeaders64>(bytes, name)?,
        other => {
            return Err(invalid(format!(
                "unsupported file kind {other:?}: expected an ELF, Mach-O or PE binary"
            )))
        }
    };
    match arch {
        Some(wanted) if wanted != id.arch => Err(Error::new(
            ErrorKind::NotFound,
            format!("the file is {}, not {wanted}", id.arch),
        )),
        _ => Ok(id),
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

fn malformed(format: &'static str) -> impl Fn(object::Error) -> Error {
    move |err| invalid(format!("malformed {format} file: {err}"))
}

/// The last component of a path, `/` or `\` separated (a Windows path names a PE file on any
/// host).
fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// Breakpad's GUID text: `data1` (4 bytes), `data2` and `data3` (2 bytes each) as numbers
/// read in the given byte order and printed big-endian, then `data4`'s 8 bytes as they are.
fn guid_string(guid: &[u8; GUID_BYTES], little_endian: bool) -> String {
    let mut swapped = *guid;
    if little_endian {
        swapped[0..4].reverse();
        swapped[4..6].reverse();
        swapped[6..8].reverse();
    }
    hex_upper(&swapped)
}

// ---------------------------------------------------------------------------------------
// ELF

fn elf_id<Elf: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
    name: &str,
) -> Result<BinaryId> {
    let header = Elf::parse(data).map_err(malformed("ELF"))?;
    let endian = header.endian().map_err(malformed("ELF"))?;
    let little = header.is_little_endian();

    let identifier = match elf_build_id(header, endian, data, little)? {
        Some(build_id) => build_id.to_vec(),
        None => elf_text_hash(header, endian, data)?.to_vec(),
    };
    let mut guid = [0u8; GUID_BYTES];
    let n = identifier.len().min(GUID_BYTES);
    guid[..n].copy_from_slice(&identifier[..n]);
    // Breakpad byte-swaps the GUID's first three fields with `htonl`/`htons`, that is by the
    // byte order of the host that runs `dump_syms`; run natively (Breakpad's way on Linux) that
    // is the file's own order, which is also how a minidump processor reads the identifier of
    // a crash on that machine. Mozilla's `dump_syms` swaps by the file's order too.
    let debug_id = format!("{}0", guid_string(&guid, little));

    // Breakpad's `dump_syms` writes the hashed identifier as the code id too, and a Breakpad
    // minidump carries the same hash for such a module; Mozilla's `dump_syms` writes no code id
    // without a build id. The Breakpad form is kept: it is what a crash report can match.
    Ok(BinaryId {
        os: "Linux".to_owned(),
        arch: elf_arch(header.e_machine(endian), header.is_class_64()).to_owned(),
        debug_id,
        debug_file: name.to_owned(),
        code_id: Some(hex_upper(&identifier)),
        code_file: None,
    })
}

/// Breakpad's names for ELF machines (`dump_symbols.cc`, `ElfArchitecture`), with the 32/64
/// split the Rust crash tools use for MIPS and RISC-V.
fn elf_arch(machine: elf::Machine, class_64: bool) -> &'static str {
    match machine {
        elf::EM_386 => "x86",
        elf::EM_X86_64 => "x86_64",
        elf::EM_ARM => "arm",
        elf::EM_AARCH64 => "arm64",
        elf::EM_MIPS if class_64 => "mips64",
        elf::EM_MIPS => "mips",
        elf::EM_PPC => "ppc",
        elf::EM_PPC64 => "ppc64",
        elf::EM_S390 => "s390",
        elf::EM_SPARC => "sparc",
        elf::EM_SPARCV9 => "sparcv9",
        elf::EM_RISCV if class_64 => "riscv64",
        elf::EM_RISCV => "riscv32",
        _ => "unknown",
    }
}

/// The file bytes `[offset, offset + size)`, or an error naming `what` when they are not all
/// inside the file.
fn file_range<'a>(data: &'a [u8], offset: u64, size: u64, what: &str) -> Result<&'a [u8]> {
    let range = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(size).ok())
        .and_then(|(start, len)| Some(start..start.checked_add(len)?));
    range.and_then(|r| data.get(r)).ok_or_else(|| {
        invalid(format!(
            "truncated ELF file: {what} at {offset:#x}+{size:#x} ends past the file's {} bytes",
            data.len()
        ))
    })
}

/// The GNU build id: the first `PT_NOTE` segment holding a usable note, else the
/// `.note.gnu.build-id` section (Breakpad's `FindElfBuildIDNote`).
fn elf_build_id<'a, Elf: FileHeader<Endian = object::Endianness>>(
    header: &Elf,
    endian: object::Endianness,
    data: &'a [u8],
    little: bool,
) -> Result<Option<&'a [u8]>> {
    let segments = header
        .program_headers(endian, data)
        .map_err(malformed("ELF"))?;
    for segment in segments {
        if segment.p_type(endian) != elf::PT_NOTE {
            continue;
        }
        let notes = file_range(
            data,
            segment.p_offset(endian).into(),
            segment.p_filesz(endian).into(),
            "PT_NOTE segment",
        )?;
        if let Some(id) = build_id_note(notes, little)? {
            return Ok(Some(id));
        }
    }
    match elf_section(header, endian, data, b".note.gnu.build-id", elf::SHT_NOTE)? {
        Some((_, notes)) => build_id_note(notes, little),
        None => Ok(None),
    }
}

/// The file offset and data of the first section named `name` with type `sh_type`
/// (Breakpad's `FindElfSection` matches both).
fn elf_section<'a, Elf: FileHeader<Endian = object::Endianness>>(
    header: &Elf,
    endian: object::Endianness,
    data: &'a [u8],
    name: &[u8],
    sh_type: elf::SectionType,
) -> Result<Option<(usize, &'a [u8])>> {
    let sections = header.sections(endian, data).map_err(malformed("ELF"))?;
    for section in sections.iter() {
        if section.sh_type(endian) != sh_type {
            continue;
        }
        let Ok(section_name) = sections.section_name(endian, section) else {
            continue;
        };
        if section_name == name {
            let what = String::from_utf8_lossy(name);
            let offset = section.sh_offset(endian).into();
            let bytes = file_range(
                data,
                offset,
                section.sh_size(endian).into(),
                &format!("section {what}"),
            )?;
            // In range of `data`, so the offset fits a `usize`.
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            return Ok(Some((start, bytes)));
        }
    }
    Ok(None)
}

fn read_u32(bytes: &[u8], offset: usize, little: bool) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(offset..offset.checked_add(4)?)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(raw)
    } else {
        u32::from_be_bytes(raw)
    })
}

/// The descriptor of the first `NT_GNU_BUILD_ID` note in `notes`, walking the notes as
/// Breakpad's `ElfClassBuildIDNoteIdentifier` does: the type alone decides (whatever the owner
/// name), names and descriptors are padded to 4 bytes, and an empty descriptor means no build
/// id in this block. A build-id note whose descriptor runs past the block is an error; a
/// block that ends inside another note's header simply has no build id.
fn build_id_note(notes: &[u8], little: bool) -> Result<Option<&[u8]>> {
    const HEADER: u64 = 12;
    let pad4 = |n: u32| (u64::from(n) + 3) & !3;
    let mut pos: u64 = 0;
    while pos < notes.len() as u64 {
        let Ok(at) = usize::try_from(pos) else {
            return Ok(None);
        };
        let fields = (
            read_u32(notes, at, little),
            read_u32(notes, at + 4, little),
            read_u32(notes, at + 8, little),
        );
        let (Some(namesz), Some(descsz), Some(n_type)) = fields else {
            return Ok(None);
        };
        let desc_start = pos + HEADER + pad4(namesz);
        if n_type == elf::NT_GNU_BUILD_ID.0 {
            if descsz == 0 {
                return Ok(None);
            }
            let desc_end = desc_start + u64::from(descsz);
            let range = usize::try_from(desc_start)
                .ok()
                .zip(usize::try_from(desc_end).ok());
            return match range.and_then(|(start, end)| notes.get(start..end)) {
                Some(desc) => Ok(Some(desc)),
                None => Err(invalid(
                    "truncated ELF file: the build-id note runs past its note block",
                )),
            };
        }
        pos = desc_start + pad4(descsz);
    }
    Ok(None)
}

/// Breakpad's identifier for an ELF file without a build id (`HashElfTextSection`): the
/// first 4 KiB of the `.text` section (type `SHT_PROGBITS`), XOR-folded 16 bytes at a time.
///
/// Breakpad XORs whole 16-byte chunks, so when `.text` is shorter than 4 KiB and not a
/// multiple of 16 its last chunk reads the bytes that follow `.text` in the file. That is
/// reproduced here (both Breakpad's `dump_syms` and its crash-time client read them, so their
/// ids agree); bytes past the end of the file count as zero. Mozilla's `dump_syms` stops at
/// the end of `.text` and gives a different id for such a (tiny) binary.
fn elf_text_hash<Elf: FileHeader<Endian = object::Endianness>>(
    header: &Elf,
    endian: object::Endianness,
    data: &[u8],
) -> Result<[u8; GUID_BYTES]> {
    let (start, text) = elf_section(header, endian, data, b".text", elf::SHT_PROGBITS)?
        .filter(|(_, text)| !text.is_empty())
        .ok_or_else(|| {
            invalid("ELF file has no build id and no .text section: it has no Breakpad id")
        })?;
    let len = text.len().min(TEXT_HASH_BYTES);
    let mut id = [0u8; GUID_BYTES];
    for chunk in (0..len).step_by(GUID_BYTES) {
        for (i, slot) in id.iter_mut().enumerate() {
            *slot ^= data.get(start + chunk + i).copied().unwrap_or(0);
        }
    }
    Ok(id)
}

// ---------------------------------------------------------------------------------------
// Mach-O

fn macho_id<Mach: MachHeader<Endian = object::Endianness>>(
    data: &[u8],
    name: &str,
) -> Result<BinaryId> {
    let header = Mach::parse(data, 0).map_err(malformed("Mach-O"))?;
    let endian = header.endian().map_err(malformed("Mach-O"))?;
    let uuid = header
        .uuid(endian, data, 0)
        .map_err(malformed("Mach-O"))?
        .ok_or_else(|| invalid("Mach-O file has no LC_UUID load command: it has no debug id"))?;
    let uuid = hex_upper(&uuid);
    Ok(BinaryId {
        // Mozilla's `dump_syms` writes `Mac` (Breakpad's writes `mac`; Tecken and the
        // processors do not compare the OS).
        os: "Mac".to_owned(),
        arch: macho_arch(header.cputype(endian), header.cpusubtype(endian)).to_owned(),
        debug_id: format!("{uuid}0"),
        debug_file: name.to_owned(),
        // Mozilla's `dump_syms` writes the UUID as `INFO CODE_ID`; Breakpad's writes none.
        code_id: Some(uuid),
        code_file: None,
    })
}

/// Breakpad's names for Mach-O CPU types (the NXArchInfo names, with `i386` written `x86`).
fn macho_arch(cputype: macho::CpuType, subtype: macho::CpuSubtype) -> &'static str {
    let subtype = subtype.id().0;
    match cputype {
        macho::CPU_TYPE_X86 => "x86",
        macho::CPU_TYPE_X86_64 if subtype == macho::CPU_SUBTYPE_X86_64_H.0 => "x86_64h",
        macho::CPU_TYPE_X86_64 => "x86_64",
        macho::CPU_TYPE_ARM64 if subtype == macho::CPU_SUBTYPE_ARM64E.0 => "arm64e",
        macho::CPU_TYPE_ARM64 => "arm64",
        macho::CPU_TYPE_ARM64_32 => "arm64_32",
        macho::CPU_TYPE_ARM => match subtype {
            6 => "armv6",
            9 => "armv7",
            10 => "armv7f",
            11 => "armv7s",
            12 => "armv7k",
            _ => "arm",
        },
        macho::CPU_TYPE_POWERPC => "ppc",
        macho::CPU_TYPE_POWERPC64 => "ppc64",
        _ => "unknown",
    }
}

/// One architecture of a universal file, chosen by `arch`.
fn fat_id<Fat: FatArch>(
    data: &[u8],
    arches: &[Fat],
    name: &str,
    arch: Option<&str>,
) -> Result<BinaryId> {
    let names: Vec<&str> = arches
        .iter()
        .map(|a| macho_arch(a.cputype(), a.cpusubtype()))
        .collect();
    let Some(wanted) = arch else {
        return Err(invalid(format!(
            "universal Mach-O file with architectures {}: choose one by its arch",
            names.join(", ")
        )));
    };
    let Some(index) = names.iter().position(|n| *n == wanted) else {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "universal Mach-O file has no {wanted} slice (it has {})",
                names.join(", ")
            ),
        ));
    };
    let slice = arches[index]
        .data(data)
        .map_err(malformed("universal Mach-O"))?;
    match FileKind::parse(slice) {
        Ok(FileKind::MachO32) => macho_id::<macho::MachHeader32<object::Endianness>>(slice, name),
        Ok(FileKind::MachO64) => macho_id::<macho::MachHeader64<object::Endianness>>(slice, name),
        _ => Err(invalid(format!(
            "the {wanted} slice of the universal file is not a Mach-O file"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// PE

fn pe_id<Pe: ImageNtHeaders>(data: &[u8], name: &str) -> Result<BinaryId> {
    let file = PeFile::<Pe>::parse(data).map_err(malformed("PE"))?;
    let codeview = file.pdb_info().map_err(malformed("PE"))?.ok_or_else(|| {
        invalid("PE file has no CodeView (RSDS) debug record: it names no PDB and has no debug id")
    })?;
    let pdb_path = String::from_utf8_lossy(codeview.path());
    let debug_file = basename(&pdb_path);
    if debug_file.is_empty() {
        return Err(invalid(
            "the PE file's CodeView record has an empty PDB name",
        ));
    }
    let headers = file.nt_headers();
    let timestamp = headers.file_header().time_date_stamp.get(LE);
    let size_of_image = headers.optional_header().size_of_image();
    Ok(BinaryId {
        os: "windows".to_owned(),
        arch: pe_arch(headers.file_header().machine.get(LE)).to_owned(),
        // The GUID is stored as Windows lays it out (first three fields little-endian); the
        // age follows in hex. Breakpad prints the age with `%x`; Mozilla's `dump_syms` and
        // Tecken's keys use upper case.
        debug_id: format!(
            "{}{:X}",
            guid_string(&codeview.guid(), true),
            codeview.age()
        ),
        debug_file: debug_file.to_owned(),
        // `dump_syms` writes both fields in upper case (`60533C886EFD000 xul.dll`); minidump
        // processors print `SizeOfImage` in lower case, as Microsoft's symbol server lays out
        // its paths. Tecken matches code ids in any case.
        code_id: Some(format!("{timestamp:08X}{size_of_image:X}")),
        code_file: Some(name.to_owned()),
    })
}

/// Breakpad's names for PE machine types.
fn pe_arch(machine: pe::Machine) -> &'static str {
    match machine {
        pe::IMAGE_FILE_MACHINE_I386 => "x86",
        pe::IMAGE_FILE_MACHINE_AMD64 => "x86_64",
        pe::IMAGE_FILE_MACHINE_ARM64 => "arm64",
        pe::IMAGE_FILE_MACHINE_ARM
        | pe::IMAGE_FILE_MACHINE_ARMNT
        | pe::IMAGE_FILE_MACHINE_THUMB => "arm",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_swaps_only_the_first_three_fields_of_little_endian_ids() {
        let bytes: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            guid_string(&bytes, true),
            "030201000504070608090A0B0C0D0E0F"
        );
        assert_eq!(
            guid_string(&bytes, false),
            "000102030405060708090A0B0C0D0E0F"
        );
    }

    #[test]
    fn basename_cuts_both_separators() {
        assert_eq!(basename("/usr/lib/libc.so.6"), "libc.so.6");
        assert_eq!(basename(r"C:\build\xul.pdb"), "xul.pdb");
        assert_eq!(basename("xul.dll"), "xul.dll");
        assert_eq!(basename("dir/"), "");
    }

    #[test]
    fn note_walk_skips_other_types_and_pads_to_four_bytes() {
        let mut notes = Vec::new();
        // An "Android" note of type 1 (name 8 bytes, descriptor 3 bytes padded to 4).
        notes.extend_from_slice(&8u32.to_le_bytes());
        notes.extend_from_slice(&3u32.to_le_bytes());
        notes.extend_from_slice(&1u32.to_le_bytes());
        notes.extend_from_slice(b"Android\0");
        notes.extend_from_slice(&[1, 2, 3, 0]);
        // A build id under an owner that is not "GNU": the type alone counts.
        notes.extend_from_slice(&3u32.to_le_bytes());
        notes.extend_from_slice(&5u32.to_le_bytes());
        notes.extend_from_slice(&3u32.to_le_bytes());
        notes.extend_from_slice(b"Go\0\0");
        notes.extend_from_slice(&[9, 8, 7, 6, 5]);
        assert_eq!(
            build_id_note(&notes, true).unwrap(),
            Some(&[9u8, 8, 7, 6, 5][..])
        );
        // Cut inside the descriptor: an error, not a shorter id.
        assert_eq!(
            build_id_note(&notes[..notes.len() - 1], true)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        // Cut inside the first header: no build id here.
        assert_eq!(build_id_note(&notes[..7], true).unwrap(), None);
    }

    #[test]
    fn note_walk_survives_huge_sizes() {
        let mut notes = Vec::new();
        notes.extend_from_slice(&u32::MAX.to_le_bytes());
        notes.extend_from_slice(&u32::MAX.to_le_bytes());
        notes.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(build_id_note(&notes, true).unwrap(), None);
        notes[8] = 3;
        assert!(build_id_note(&notes, true).is_err());
    }

    #[test]
    fn empty_build_id_descriptor_means_none() {
        let mut notes = Vec::new();
        notes.extend_from_slice(&4u32.to_be_bytes());
        notes.extend_from_slice(&0u32.to_be_bytes());
        notes.extend_from_slice(&3u32.to_be_bytes());
        notes.extend_from_slice(b"GNU\0");
        assert_eq!(build_id_note(&notes, false).unwrap(), None);
    }
}
