//! `binary_id` gives what `dump_syms` writes for a binary: checked against `.sym` files that
//! Mozilla's `dump_syms` made from the same ELF files, and against ids read with independent
//! tools (`llvm-pdbutil`, `llvm-readobj`, `llvm-dwarfdump`, `readelf`) from the tiny PE,
//! Mach-O and ELF files of `fixtures/binaries/` (see its `make.sh`). Truncated and hostile
//! bytes give an `InvalidInput` error, never a panic.

use proptest::prelude::*;
use tecken_core::{binary_id, parse_sym_header, BinaryId, ErrorKind, ObjectKey};
use tecken_testutil::fixture;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn id_of(rel: &str, name: &str) -> BinaryId {
    binary_id(&read(rel), name, None).unwrap()
}

/// The binary's ids equal the MODULE and INFO CODE_ID lines of the `.sym` dump_syms made.
fn assert_matches_sym(binary: &str, sym: &str, name: &str) {
    let id = id_of(binary, name);
    let header = parse_sym_header(&read(sym)).unwrap();
    assert_eq!(id.os, header.os);
    assert_eq!(id.arch, header.arch);
    assert_eq!(id.debug_id, header.debug_id);
    assert_eq!(id.debug_file, header.debug_file);
    let code = header.code_id.unwrap();
    assert_eq!(id.code_id.as_deref(), Some(code.id.as_str()));
    assert_eq!(id.code_file, code.file);
    assert_eq!(
        id.key().unwrap(),
        ObjectKey::for_module(&header.debug_file, &header.debug_id).unwrap()
    );
}

#[test]
fn non_pie_elf_matches_its_dump_syms_output() {
    assert_matches_sym("generated/cdemo.elf", "generated/cdemo.sym", "cdemo");
    assert_eq!(
        id_of("generated/cdemo.elf", "cdemo").key().unwrap().path(),
        "cdemo/9B20C1922082E26C7610452F338E86710/cdemo.sym"
    );
}

#[test]
fn stripped_pie_elf_matches_the_dump_syms_output_of_its_unstripped_build() {
    // `strip` keeps the build-id note, so the stripped copy has the same ids.
    assert_matches_sym(
        "generated/cppdemo.stripped.elf",
        "generated/cppdemo.sym",
        "cppdemo",
    );
}

#[test]
fn a_path_is_cut_to_its_basename() {
    let id = id_of("generated/cdemo.elf", "/usr/local/bin/cdemo");
    assert_eq!(id.debug_file, "cdemo");
    let id = id_of("binaries/tiny64.dll", r"C:\Program Files\tiny\tiny64.dll");
    assert_eq!(id.code_file.as_deref(), Some("tiny64.dll"));
}

#[test]
fn short_build_id_is_zero_padded_into_the_guid() {
    // readelf -n: Build ID 0102030405060708.
    let id = id_of("binaries/shortid.elf", "shortid");
    assert_eq!(id.debug_id, "040302010605080700000000000000000");
    assert_eq!(id.code_id.as_deref(), Some("0102030405060708"));
    assert_eq!((id.os.as_str(), id.arch.as_str()), ("Linux", "x86_64"));
}

#[test]
fn elf_without_build_id_hashes_text_reading_past_its_end_as_breakpad_does() {
    // readelf -S: .text is the 20 bytes 01..14, .rodata follows at once with A0..AF.
    // Breakpad XORs whole 16-byte chunks: 01..10 with 11 12 13 14 A0..AB.
    let chunk0: Vec<u8> = (0x01..=0x10).collect();
    let chunk1: Vec<u8> = [0x11, 0x12, 0x13, 0x14]
        .into_iter()
        .chain(0xA0..=0xAB)
        .collect();
    let hash: Vec<u8> = chunk0.iter().zip(&chunk1).map(|(a, b)| a ^ b).collect();
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02X}")).collect::<String>();
    assert_eq!(hex(&hash), "10101010A5A7A5ABADAFADABA5A7A5BB");

    let id = id_of("binaries/nobuildid.elf", "nobuildid");
    assert_eq!(id.code_id.as_deref(), Some(hex(&hash).as_str()));
    assert_eq!(id.debug_id, "10101010A7A5ABA5ADAFADABA5A7A5BB0");
}

#[test]
fn pe_ids_match_the_pdb_and_the_headers() {
    // (file, arch, llvm-pdbutil GUID, TimeDateStamp, SizeOfImage 53248 = 0xD000)
    let cases = [
        (
            "tiny64",
            "x86_64",
            "B1EF22ADB043FF764C4C44205044422E",
            "18C8E99E",
        ),
        (
            "tiny32",
            "x86",
            "707877D4A1F2C4204C4C44205044422E",
            "A89FB52E",
        ),
        (
            "tinyarm64",
            "arm64",
            "6578974BF3F212174C4C44205044422E",
            "D036732B",
        ),
    ];
    for (name, arch, guid, timestamp) in cases {
        let dll = format!("{name}.dll");
        let id = id_of(&format!("binaries/{dll}"), &dll);
        assert_eq!(
            id,
            BinaryId {
                os: "windows".into(),
                arch: arch.into(),
                debug_id: format!("{guid}1"),
                debug_file: format!("{name}.pdb"),
                code_id: Some(format!("{timestamp}D000")),
                code_file: Some(dll.clone()),
            }
        );
        assert_eq!(
            id.key().unwrap().path(),
            format!("{name}.pdb/{guid}1/{name}.sym")
        );
    }
}

#[test]
fn pe_without_codeview_record_is_invalid_input() {
    let err = binary_id(&read("binaries/nodebug64.dll"), "nodebug64.dll", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("CodeView"), "{err}");
}

#[test]
fn thin_mach_o_ids_are_the_uuid() {
    // llvm-dwarfdump --uuid: 4C4C4455-5555-3144-A118-7D68813F452D (x86_64).
    let id = id_of("binaries/libtiny_x86_64.dylib", "libtiny.dylib");
    assert_eq!(
        id,
        BinaryId {
            os: "Mac".into(),
            arch: "x86_64".into(),
            debug_id: "4C4C445555553144A1187D68813F452D0".into(),
            debug_file: "libtiny.dylib".into(),
            code_id: Some("4C4C445555553144A1187D68813F452D".into()),
            code_file: None,
        }
    );
}

#[test]
fn universal_mach_o_gives_the_named_arch() {
    let fat = read("binaries/libtiny_fat.dylib");
    let arm = binary_id(&fat, "libtiny.dylib", Some("arm64")).unwrap();
    assert_eq!(arm.arch, "arm64");
    assert_eq!(arm.debug_id, "4C4C447455553144A156208E8F08E9500");
    let x86 = binary_id(&fat, "libtiny.dylib", Some("x86_64")).unwrap();
    assert_eq!(x86, id_of("binaries/libtiny_x86_64.dylib", "libtiny.dylib"));

    let err = binary_id(&fat, "libtiny.dylib", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("x86_64, arm64"), "{err}");
    let err = binary_id(&fat, "libtiny.dylib", Some("ppc")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn arch_of_a_thin_file_is_checked() {
    let elf = read("generated/cdemo.elf");
    assert!(binary_id(&elf, "cdemo", Some("x86_64")).is_ok());
    let err = binary_id(&elf, "cdemo", Some("arm64")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn non_binaries_and_empty_names_are_invalid_input() {
    let sym = read("generated/cdemo.sym");
    for (bytes, name) in [
        (&b""[..], "x"),
        (&sym[..], "cdemo.sym"),
        (&b"\x7fELF"[..], "x"),
        (&b"MZ"[..], "x.dll"),
        (&b"\xca\xfe\xba\xbe\0\0\0\x02"[..], "x"),
    ] {
        let err = binary_id(bytes, name, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}: {err}");
    }
    let elf = read("generated/cdemo.elf");
    assert_eq!(
        binary_id(&elf, "", None).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        binary_id(&elf, "dir/", None).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// Every prefix of every fixture either gives the full file's ids (everything needed lies
/// before the cut) or fails with `InvalidInput`: never a panic, never another id.
#[test]
fn truncated_binaries_give_the_right_id_or_invalid_input() {
    let files = [
        ("generated/cdemo.elf", "cdemo", None),
        ("binaries/nobuildid.elf", "nobuildid", None),
        ("binaries/shortid.elf", "shortid", None),
        ("binaries/tiny64.dll", "tiny64.dll", None),
        ("binaries/tiny32.dll", "tiny32.dll", None),
        ("binaries/libtiny_x86_64.dylib", "libtiny.dylib", None),
        ("binaries/libtiny_fat.dylib", "libtiny.dylib", Some("arm64")),
    ];
    for (rel, name, arch) in files {
        let bytes = read(rel);
        let full = binary_id(&bytes, name, arch).unwrap();
        let step = (bytes.len() / 2000).max(1);
        for len in (0..bytes.len()).step_by(step) {
            match binary_id(&bytes[..len], name, arch) {
                Ok(id) if rel.contains("nobuildid") => {
                    // The .text hash reads zeros past the end of the file, as documented.
                    assert_eq!(id.arch, full.arch, "{rel} cut at {len}");
                }
                Ok(id) => assert_eq!(id, full, "{rel} cut at {len}"),
                Err(err) => assert_eq!(err.kind(), ErrorKind::InvalidInput, "{rel} at {len}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random bytes written over a real binary's headers never panic.
    #[test]
    fn corrupted_headers_never_panic(
        which in 0usize..4,
        edits in prop::collection::vec((0usize..1024, any::<u8>()), 1..16),
    ) {
        let (rel, name) = [
            ("generated/cdemo.elf", "cdemo"),
            ("binaries/tiny64.dll", "tiny64.dll"),
            ("binaries/libtiny_x86_64.dylib", "libtiny.dylib"),
            ("binaries/libtiny_fat.dylib", "libtiny.dylib"),
        ][which];
        let mut bytes = read(rel);
        for (at, value) in edits {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        if let Err(err) = binary_id(&bytes, name, Some("x86_64")) {
            prop_assert!(matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound));
        }
    }
}
