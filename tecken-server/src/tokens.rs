//! Upload tokens (`--tokens FILE`).
//!
//! The file has one token per line: the token, its permissions (comma-separated:
//! `upload` stores into the regular area, `try-upload` into the Try area; `none` for a
//! token that authenticates but may not upload), and optionally the user it belongs to
//! (shown in upload answers and logs). `#` starts a comment; blank lines are skipped.
//!
//! ```text
//! # token                            permissions          user
//! 6d1c6ae1a3b34c0e9a1f8c2e1b7d4f00   upload,try-upload    ci@example.com
//! 0a4d55a8d778e5022fab701977c5d840   try-upload           try-bot
//! ```
//!
//! As in Tecken, a token with only `try-upload` may upload, and its uploads go to the Try
//! area whatever the form says, and a client may send `TOKEN-label` (a label of its own
//! after a hyphen, ignored: [`tecken_core::auth_token_matches`]). Tokens are compared in
//! constant time.

use std::path::Path;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Upload into the regular area.
    pub upload: bool,
    /// Upload into the Try area.
    pub try_upload: bool,
}

#[derive(Clone)]
struct Token {
    secret: String,
    perms: Permissions,
    user: String,
}

/// The tokens of a `--tokens` file.
#[derive(Clone)]
pub struct Tokens {
    tokens: Vec<Token>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets.
        write!(f, "Tokens({} tokens)", self.tokens.len())
    }
}

/// Who a matched token belongs to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Permissions.
    pub perms: Permissions,
    /// User name from the file (may be empty).
    pub user: String,
}

impl Tokens {
    /// Reads and parses a tokens file.
    pub fn load(path: &Path) -> tecken_core::Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::bad_setting(format!("--tokens {}: {e}", path.display())))?;
        Tokens::parse(&text)
            .map_err(|e| crate::bad_setting(format!("--tokens {}: {e}", path.display())))
    }

    /// Parses the text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut tokens = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(secret), Some(perms)) = (fields.next(), fields.next()) else {
                return Err(format!(
                    "line {}: expected `TOKEN PERMISSIONS [USER]`",
                    n + 1
                ));
            };
            if secret.len() < 8 {
                return Err(format!(
                    "line {}: a token needs at least 8 characters",
                    n + 1
                ));
            }
            let mut p = Permissions::default();
            for perm in perms.split(',') {
                match perm {
                    "upload" => p.upload = true,
                    "try-upload" => p.try_upload = true,
                    "none" => {}
                    other => {
                        return Err(format!(
                            "line {}: unknown permission {other:?} (upload, try-upload, none)",
                            n + 1
                        ))
                    }
                }
            }
            let user = fields.collect::<Vec<_>>().join(" ");
            tokens.push(Token {
                secret: secret.to_owned(),
                perms: p,
                user,
            });
        }
        Ok(Tokens { tokens })
    }

    /// The grant of the `Auth-Token` header value `presented` (`TOKEN` or `TOKEN-label`),
    /// or `None` if no token matches.
    pub fn check(&self, presented: &[u8]) -> Option<Grant> {
        let presented = std::str::from_utf8(presented).ok()?;
        // Compare against every token so the time does not tell which prefix matched.
        let mut found = None;
        for t in &self.tokens {
            if tecken_core::auth_token_matches(&t.secret, presented) && found.is_none() {
                found = Some(Grant {
                    perms: t.perms,
                    user: t.user.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_permissions_users_and_comments() {
        let t = Tokens::parse(
            "# comment\n\naaaaaaaa upload,try-upload ci@example.com # trailing\nbbbbbbbb try-upload\ncccccccc none\n",
        )
        .unwrap();
        let g = t.check(b"aaaaaaaa").unwrap();
        assert_eq!(
            g.perms,
            Permissions {
                upload: true,
                try_upload: true
            }
        );
        assert_eq!(g.user, "ci@example.com");
        assert!(t.check(b"bbbbbbbb").unwrap().perms.try_upload);
        assert_eq!(t.check(b"cccccccc").unwrap().perms, Permissions::default());
        assert!(t.check(b"aaaaaaab").is_none());
        assert!(t.check(b"").is_none());
        // Tecken's token labels.
        assert_eq!(
            t.check(b"aaaaaaaa-ci-linux").unwrap().user,
            "ci@example.com"
        );
        assert!(t.check(b"aaaaaaaax").is_none());
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(Tokens::parse("aaaaaaaa").is_err());
        assert!(Tokens::parse("short upload").is_err());
        assert!(Tokens::parse("aaaaaaaa admin").is_err());
    }
}
