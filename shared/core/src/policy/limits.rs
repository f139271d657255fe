//! Bounds on CEL rules, so no rule can exhaust the stack or the CPU of the process that evaluates it.
//!
//! The interpreter and parser recurse once per level of the syntax tree; in a debug build an evaluation level
//! takes about 40 KiB of stack, and the tokio workers the handlers run on have 2 MiB. A rule is therefore checked
//! before it is parsed (length, bracket nesting) and after (tree depth, estimated cost), both when an admin saves
//! it and every time it is evaluated, since a stored rule may predate these limits.

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr};
use cel::parser::PrattParser;

use super::cost::{self, FactSizes};

/// Longest rule, in characters. The longest rule of the demo catalog has 64.
pub const MAX_RULE_CHARS: usize = 1_000;
/// Deepest nesting: brackets and conditionals in the source, and levels of the parsed syntax tree (a chain of
/// `+` or `.` adds one level per operator; `&&` and `||` chains are balanced). 24 levels take about 1 MiB of
/// stack in a debug build, half a tokio worker's.
pub const MAX_NESTING: usize = 24;
/// Most work one evaluation may do, in the units of `cost::estimate`: roughly one per node evaluated, times the
/// iterations of every comprehension (`all`, `exists`, `exists_one`, `map`, `filter`) around it.
pub const MAX_COST: u64 = 10_000;
/// Values (scalars, lists, maps and their elements) assumed in each of `user`, `item` and `request` when a rule
/// is checked on save; an evaluation uses the real facts' counts.
pub const ASSUMED_FACT_VALUES: u64 = 200;

/// Parses `expr` once it is known to be within the limits, for facts of the given sizes.
pub(super) fn compile(expr: &str, sizes: &FactSizes) -> Result<IdedExpr, String> {
    let chars = expr.chars().count();
    if chars > MAX_RULE_CHARS {
        return Err(format!(
            "rule has {chars} characters, more than the limit of {MAX_RULE_CHARS}"
        ));
    }
    if source_nesting(expr) > MAX_NESTING {
        return Err(too_deep());
    }
    let parsed = PrattParser::new()
        .max_recursion_depth(u16::try_from(MAX_NESTING).unwrap_or(u16::MAX))
        .parse(expr)
        .map_err(|e| e.to_string())?;
    if tree_depth(&parsed) > MAX_NESTING {
        return Err(too_deep());
    }
    let cost = cost::estimate(&parsed, sizes)?;
    if cost > MAX_COST {
        return Err(format!(
            "rule is too costly to evaluate: estimated cost {cost} is over the budget of {MAX_COST} \
             (comprehensions multiply the cost of their body by the size of their range)"
        ));
    }
    Ok(parsed)
}

fn too_deep() -> String {
    format!("rule is nested more than {MAX_NESTING} levels deep")
}

/// How deeply brackets and conditionals nest in the source, strings skipped. A conditional's `:` branch extends
/// to the end of its enclosing bracket, which is where the parser returns from it.
fn source_nesting(expr: &str) -> usize {
    let bytes = expr.as_bytes();
    // Conditionals opened inside each open bracket, outermost (the whole rule) first.
    let mut open: Vec<usize> = vec![0];
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
                i = string_end(bytes, i, quote, raw);
                continue;
            }
            b'(' | b'[' | b'{' => {
                open.push(0);
                depth += 1;
            }
            b')' | b']' | b'}' if open.len() > 1 => {
                let conditionals = open.pop().unwrap_or_default();
                depth = depth.saturating_sub(1 + conditionals);
            }
            b'?' => {
                if let Some(conditionals) = open.last_mut() {
                    *conditionals += 1;
                }
                depth += 1;
            }
            _ => {}
        }
        deepest = deepest.max(depth);
        i += 1;
    }
    deepest
}

/// The index just past the string literal opening at `start` (or the end of the input if it never closes).
fn string_end(bytes: &[u8], start: usize, quote: u8, raw: bool) -> usize {
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let closing: &[u8] = if triple {
        &[quote, quote, quote]
    } else {
        std::slice::from_ref(&bytes[start])
    };
    let mut i = start + closing.len();
    while i < bytes.len() {
        if bytes[i] == b'\\' && !raw {
            i += 2;
        } else if bytes[i..].starts_with(closing) {
            return i + closing.len();
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Depth of the syntax tree, walked without recursion: the tree may be far deeper than the limit.
fn tree_depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(root, 1usize)];
    while let Some((node, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        if depth > MAX_NESTING {
            break;
        }
        pending.extend(children(node).into_iter().map(|child| (child, depth + 1)));
    }
    deepest
}

/// The direct subexpressions of a node.
pub(super) fn children(node: &IdedExpr) -> Vec<&IdedExpr> {
    match &node.expr {
        Expr::Call(call) => call
            .target
            .as_deref()
            .into_iter()
            .chain(&call.args)
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => entries(&map.entries),
        Expr::Struct(s) => entries(&s.entries),
        Expr::Select(select) => vec![&select.operand],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn entries(entries: &[cel::common::ast::IdedEntryExpr]) -> Vec<&IdedExpr> {
    entries
        .iter()
        .flat_map(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CatalogItem;
    use crate::policy::tests::{engineer, item};
    use crate::policy::{
        Facts, applicable_stages, holds, ineligibility_reasons, request_facts, validate,
        validate_item,
    };
    use serde_json::json;

    /// A tokio worker's stack: handlers evaluate rules on one.
    const WORKER_STACK: usize = 2 << 20;

    /// Runs `f` on a thread with `stack` bytes of stack; a stack overflow aborts the whole test binary.
    fn on_stack<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn facts() -> Facts {
        Facts::new(
            &engineer(),
            &item(json!([]), json!([])),
            request_facts(None, None, false),
        )
    }

    /// `[0, 1, ..., n-1]`
    fn range(n: usize) -> String {
        format!(
            "[{}]",
            (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        )
    }

    fn hostile_rules() -> Vec<(&'static str, String)> {
        let terms = |n| vec!["1"; n].join(" + ");
        let l = range(30);
        vec![
            ("2,000 terms", terms(2_000)),
            ("12,000 terms", terms(12_000)),
            ("200 terms", terms(200)),
            ("60 selections", format!("user{}", ".a".repeat(60))),
            (
                "100 parentheses",
                format!("{}true{}", "(".repeat(100), ")".repeat(100)),
            ),
            (
                "300 lists",
                format!("{}1{}", "[".repeat(300), "]".repeat(300)),
            ),
            (
                "200 conditionals",
                format!("{}true", "true ? true : ".repeat(200)),
            ),
            (
                "200 calls",
                format!("{}'a'{} == 1", "size(".repeat(200), ")".repeat(200)),
            ),
            (
                "nested comprehensions",
                format!("size({l}.map(a, {l}.map(b, {l}.filter(c, a + b + c > 40)))) > 0"),
            ),
            (
                "comprehension over a comprehension",
                format!("{l}.map(a, {l}).map(b, {l}.map(c, b)).all(d, size(d) > 0)"),
            ),
        ]
    }

    #[test]
    fn hostile_rules_are_refused_on_a_worker_stack_without_crashing() {
        on_stack(WORKER_STACK, || {
            let facts = facts();
            for (name, rule) in hostile_rules() {
                assert!(validate(&rule).is_err(), "{name} passed validation");
                assert!(holds(&rule, &facts).is_err(), "{name} was evaluated");
            }
        });
    }

    #[test]
    fn rules_at_the_limits_evaluate_on_half_a_worker_stack() {
        // The other half is left to the frames of the server that evaluates the rule.
        on_stack(WORKER_STACK / 2, || {
            let facts = facts();
            let deepest = [
                format!("{} == 23", vec!["1"; MAX_NESTING - 1].join(" + ")),
                format!("{}true", "false ? false : ".repeat(MAX_NESTING - 1)),
                format!(
                    "{}[1].exists(x, true){}",
                    "[1].exists(x, ".repeat(7),
                    ")".repeat(7)
                ),
            ];
            for rule in deepest {
                assert_eq!(validate(&rule), Ok(()), "{rule}");
                assert_eq!(holds(&rule, &facts), Ok(true), "{rule}");
            }
        });
    }

    #[test]
    fn the_limits_are_documented_and_refused_with_the_reason() {
        let long = format!("user.department == '{}'", "x".repeat(MAX_RULE_CHARS));
        assert!(
            validate(&long)
                .unwrap_err()
                .contains("more than the limit of 1000")
        );
        let deep = format!("{} == 1", vec!["1"; 40].join(" + "));
        assert!(
            validate(&deep)
                .unwrap_err()
                .contains("nested more than 24 levels")
        );
        let l = range(30);
        let costly = format!("{l}.all(a, {l}.all(b, {l}.all(c, true)))");
        assert!(validate(&costly).unwrap_err().contains("too costly"));
        let regex = r"user.email.matches(r'(\w{1,50}){1,10}')";
        let refused = validate(regex).unwrap_err();
        assert!(refused.contains("matches()"), "{refused}");
    }

    #[test]
    fn the_demo_catalog_and_realistic_rules_are_within_the_limits() {
        let seed: Vec<CatalogItem> = serde_json::from_str(include_str!(
            "../../../../infra/local/seed/demo/catalog.json"
        ))
        .unwrap();
        assert!(seed.iter().map(|i| i.eligibility.len()).sum::<usize>() > 10);
        for item in &seed {
            assert_eq!(validate_item(item), vec![], "{}", item.item_id);
        }
        for rule in [
            "user.groups.exists(g, g in ['admins', 'sre', 'security']) && user.employmentType == 'FTE'",
            "user.department in ['Engineering', 'IT'] && (user.location == 'DE' || user.location == 'US')",
            "size(user.groups.filter(g, g.startsWith('eng-'))) > 0 || request.durationHours <= 8",
            "item.cost.amount > 1000.0 || item.risk == 'high'",
        ] {
            assert_eq!(validate(rule), Ok(()), "{rule}");
        }
    }

    #[test]
    fn a_stored_rule_over_the_limits_makes_only_its_item_ineligible() {
        let hostile = item(
            json!([
                {"when": "user.department == 'Engineering'", "reason": "Engineering only"},
                {"when": vec!["1"; 12_000].join(" + "), "reason": "legacy rule"}
            ]),
            json!([]),
        );
        let errors = validate_item(&hostile);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "eligibility[1].when");
        let other = item(
            json!([{"when": "user.department == 'Engineering'", "reason": "Engineering only"}]),
            json!([]),
        );
        let reasons = on_stack(WORKER_STACK, move || {
            [hostile, other]
                .map(|it| ineligibility_reasons(&it, &engineer(), request_facts(None, None, false)))
        });
        assert_eq!(
            reasons[0],
            vec!["legacy rule (rule could not be evaluated)".to_string()]
        );
        assert!(reasons[1].is_empty());
    }

    #[test]
    fn a_stage_condition_over_the_limits_is_an_error_not_a_crash() {
        let it = item(
            json!([]),
            json!([{"name": "x", "approvers": [{"type": "manager"}], "condition": vec!["1"; 2_000].join(" + ")}]),
        );
        let facts = Facts::new(&engineer(), &it, request_facts(None, None, false));
        let outcome = on_stack(WORKER_STACK, move || {
            applicable_stages(&it, &facts).map(|s| s.len())
        });
        assert!(outcome.is_err());
    }
}
