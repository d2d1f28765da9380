//! Routing rules from the configuration: an ordered list of conditions (a regular
//! expression on the normalized statement, a user, a default schema) and a route; the
//! first rule that matches decides. Regex results are cached by statement digest.

use quick_cache::sync::Cache;
use regex::Regex;

use crate::config::{RuleConfig, RuleRoute};

use super::normalize::normalize;
use super::statement::Hint;

struct Rule {
    pattern: Option<Regex>,
    user: Option<String>,
    schema: Option<String>,
    route: Hint,
}

/// The compiled rules of one configuration.
pub struct Rules {
    rules: Vec<Rule>,
    /// Digest → bit i set when rule i's pattern matches (the first 64 rules).
    matches: Cache<u64, u64>,
}

impl Rules {
    /// Compiles the rules (the configuration was validated: patterns compile).
    pub fn new(config: &[RuleConfig]) -> Rules {
        Rules {
            rules: config
                .iter()
                .map(|r| Rule {
                    pattern: r.pattern.as_deref().and_then(|p| Regex::new(p).ok()),
                    user: r.user.clone(),
                    schema: r.schema.clone(),
                    route: match r.route {
                        RuleRoute::Writer => Hint::Writer,
                        RuleRoute::Reader => Hint::Reader,
                    },
                })
                .take(64)
                .collect(),
            matches: Cache::new(4096),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The route of the first rule matching this statement, user and schema.
    pub fn route_for(
        &self,
        sql: &[u8],
        digest: u64,
        user: &str,
        schema: Option<&str>,
    ) -> Option<Hint> {
        if self.rules.is_empty() {
            return None;
        }
        let mask = match self.matches.get(&digest) {
            Some(m) => m,
            None => {
                let text = normalize(sql, 64 * 1024);
                let m = self
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.pattern.as_ref().is_none_or(|p| p.is_match(&text)))
                    .fold(0u64, |m, (i, _)| m | 1 << i);
                self.matches.insert(digest, m);
                m
            }
        };
        self.rules
            .iter()
            .enumerate()
            .find(|(i, r)| {
                mask & (1 << i) != 0
                    && r.user.as_deref().is_none_or(|u| u == user)
                    && r.schema.as_deref().is_none_or(|s| Some(s) == schema)
            })
            .map(|(_, r)| r.route)
    }
}
