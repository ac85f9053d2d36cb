//! Source path cleaning, as Eliot shows paths, minus its bugs.
//!
//! Eliot (through `symbolic`) removes `.` and `..` segments from the FILE paths of a `.sym`.
//! We do the same, with two fixes that the lookup contract asks for:
//!
//! - doubled separators are collapsed (`a//b` -> `a/b`);
//! - an absolute path never becomes relative: `/a/../../b` is `/b`, not `../b`
//!   (symbolic loses the leading `/` there).
//!
//! A path that contains a backslash or starts with a drive letter is a Windows path and is
//! re-joined with `\`; others with `/`. Version-control paths (`hg:...`, `git:...`) and
//! `<...>` pseudo-paths are returned untouched. The raw path is always kept beside the
//! cleaned one in the index.

use std::borrow::Cow;

fn is_windows_path(p: &str) -> bool {
    let b = p.as_bytes();
    b.contains(&b'\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

fn is_vcs_path(p: &str) -> bool {
    p.starts_with("hg:")
        || p.starts_with("git:")
        || p.starts_with("s3:")
        || (p.starts_with('<') && p.ends_with('>'))
}

/// Cleans `path` (see the module docs). Borrows when nothing changes.
pub fn clean_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() || is_vcs_path(path) {
        return Cow::Borrowed(path);
    }
    let windows = is_windows_path(path);
    let is_sep = |c: char| c == '/' || (windows && c == '\\');
    let sep = if windows { '\\' } else { '/' };
    // The root that `..` can never climb above: `/`, `\`, `C:\`, `\\server` (UNC).
    let bytes = path.as_bytes();
    let (root, rest): (String, &str) = if windows && bytes.len() >= 2 && bytes[1] == b':' {
        let after = &path[2..];
        if after.starts_with(is_sep) {
            (
                format!("{}{}", &path[..2], sep),
                after.trim_start_matches(is_sep),
            )
        } else {
            (path[..2].to_owned(), after)
        }
    } else if path.starts_with(is_sep) {
        let unc = windows && (path.starts_with("\\\\") || path.starts_with("//"));
        let root = if unc {
            format!("{sep}{sep}")
        } else {
            sep.to_string()
        };
        (root, path.trim_start_matches(is_sep))
    } else {
        (String::new(), path)
    };
    // `C:` without a separator is drive-relative: `..` may still climb above it.
    let absolute = !root.is_empty() && (root.len() != 2 || !root.ends_with(':'));

    let mut parts: Vec<&str> = Vec::new();
    for seg in rest.split(is_sep) {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {} // cannot climb above the root
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let mut out = root;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(p);
    }
    if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {

    use super::clean_path;

    #[test]
    fn cases() {
        for (input, want) in [
            ("/a/b/c.rs", "/a/b/c.rs"),
            ("/a/./b", "/a/b"),
            ("/a/b/../c", "/a/c"),
            ("/foo/../../b", "/b"),
            ("foo/../../b", "../b"),
            ("a//b", "a/b"),
            ("//a/b", "/a/b"),
            ("./a", "a"),
            (r"C:\a\..\b.cpp", r"C:\b.cpp"),
            (r"C:\..\b.cpp", r"C:\b.cpp"),
            (
                r"d:\agent\_work\2\s\src\vctools\crt\vcstartup\src\eh\x64\..\..\..\x.cpp",
                r"d:\agent\_work\2\s\src\vctools\crt\vcstartup\x.cpp",
            ),
            (r"\\server\share\..\x", r"\\server\x"),
            (
                "git:github.com/x/y:../a.c:abc",
                "git:github.com/x/y:../a.c:abc",
            ),
            ("<stdin>", "<stdin>"),
            ("", ""),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }

    #[test]
    fn the_documented_examples() {
        assert_eq!(clean_path("/a/./b/../c"), "/a/c");
        assert_eq!(clean_path("/a/../../b"), "/b");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path(r"c:\src\.\x\..\y.cpp"), r"c:\src\y.cpp");
        assert_eq!(
            clean_path("hg:hg.mozilla.org/a:b/../c"),
            "hg:hg.mozilla.org/a:b/../c"
        );
    }
}
