//! Rules of Tecken's HTTP API that are about requests, not storage: how an `Auth-Token`
//! header names a token, and when a `Debug` header asks for timing. The server, the Django
//! example and both bindings call these, so the rules live once.

/// Whether the `Auth-Token` header value `presented` authenticates as the token `expected`:
/// the token itself, or the token followed by `-` and a label of the user's choosing
/// (`TOKEN-ci-linux`), which Tecken ignores so that one token can be told apart in logs and
/// settings (mozilla-services/tecken `tecken/tokens/middleware.py`; its test
/// `test_client_homepage_with_valid_token` authenticates `f"{token_key}-testtoken"`). An
/// empty `expected` never matches. The comparison takes the same time whatever the bytes.
pub fn auth_token_matches(expected: &str, presented: &str) -> bool {
    let (e, p) = (expected.as_bytes(), presented.as_bytes());
    if e.is_empty() || p.len() < e.len() {
        return false;
    }
    let same = e.iter().zip(p).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    same && (p.len() == e.len() || p[e.len()] == b'-')
}

/// Whether a `Debug` header value asks Tecken's download API for its `Debug-Time` header:
/// `1`, `true` or `yes`, in any case (mozilla-services/tecken `tecken/base/decorators.py`
/// `set_request_debug`). `Debug: 0` or `false` asks for nothing. Eliot's symbolication API
/// differs: any non-empty value turns its debug output on.
pub fn tecken_debug_requested(value: &str) -> bool {
    let v = value.trim();
    ["1", "true", "yes"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_label() {
        let t = "6d1c6ae1a3b34c0e9a1f8c2e1b7d4f00";
        assert!(auth_token_matches(t, t));
        assert!(auth_token_matches(t, &format!("{t}-testtoken")));
        assert!(auth_token_matches(t, &format!("{t}-")));
        assert!(!auth_token_matches(t, &format!("{t}x")));
        assert!(!auth_token_matches(t, &t[..31]));
        assert!(!auth_token_matches(t, &format!("x{t}")));
        assert!(!auth_token_matches("", ""));
        assert!(!auth_token_matches("", "-label"));
        // A token with a hyphen of its own still matches whole, and with a label.
        assert!(auth_token_matches("abc-defgh", "abc-defgh-ci"));
        assert!(!auth_token_matches("abc-defgh", "abc"));
    }

    #[test]
    fn debug_values() {
        for yes in ["1", "true", "True", "YES", " yes "] {
            assert!(tecken_debug_requested(yes), "{yes:?}");
        }
        for no in ["", "0", "false", "no", "2", "on"] {
            assert!(!tecken_debug_requested(no), "{no:?}");
        }
    }
}
