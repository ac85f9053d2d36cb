//! Temporary golden check at the frame level (replaced by the v5 end-to-end test).
use serde_json::{json, Map, Value};
use tecken_core::index::{build, BuildOptions};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tecken")
}

#[test]
fn golden_frames() {
    let mut total = 0;
    let mut bad = 0;
    for entry in std::fs::read_dir(fixtures().join("golden")).unwrap() {
        let path = entry.unwrap().path();
        let g: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let sym = std::fs::read(fixtures().join(g["sym_fixture"].as_str().unwrap())).unwrap();
        let (index, _) = build(&sym, &BuildOptions::default()).unwrap();
        let stack = &g["request"]["jobs"][0]["stacks"][0];
        let want = &g["expected_response"]["results"][0]["stacks"][0];
        for (i, fr) in stack.as_array().unwrap().iter().enumerate() {
            let addr = fr[1].as_u64().unwrap();
            let mut m = Map::new();
            if let Some(f) = index.lookup(addr) {
                m.insert("function".into(), json!(f.function));
                m.insert("function_offset".into(), json!(format!("{:#x}", f.function_offset)));
                if let Some(file) = f.file { m.insert("file".into(), json!(file.path)); }
                if let Some(l) = f.line { m.insert("line".into(), json!(l)); }
                if !f.inlines.is_empty() {
                    let v: Vec<Value> = f.inlines.iter().map(|i| {
                        let mut o = Map::new();
                        o.insert("function".into(), json!(i.function));
                        if let Some(file) = i.file { o.insert("file".into(), json!(file.path)); }
                        if let Some(l) = i.line { o.insert("line".into(), json!(l)); }
                        Value::Object(o)
                    }).collect();
                    m.insert("inlines".into(), Value::Array(v));
                }
            }
            let mut w = want[i].as_object().unwrap().clone();
            w.remove("frame"); w.remove("module"); w.remove("module_offset");
            total += 1;
            if Value::Object(w.clone()) != Value::Object(m.clone()) {
                bad += 1;
                if bad < 40 {
                    eprintln!("{} {:#x}\n  want {}\n  got  {}", path.file_name().unwrap().to_string_lossy(), addr, Value::Object(w), Value::Object(m));
                }
            }
        }
    }
    eprintln!("{bad} of {total} frames differ");
    assert_eq!(bad, 0);
}
