//! A static upper bound on the work a CEL rule does, computed on its syntax tree before it runs.
//!
//! Every expression gets two bounds: `size`, the number of values (scalars and collection elements, nested ones
//! included) its result holds, and `cost`, the work of evaluating it: one unit per node, plus the values an
//! operator copies or scans. A comprehension runs its body once per element of its range, and an element count
//! is at most the range's `size`, so its cost is the range's size times the body's cost. Arithmetic saturates.

use cel::IdedExpr;
use cel::common::ast::{ComprehensionExpr, Expr, operators};
use serde_json::Value;

use super::limits::{ASSUMED_FACT_VALUES, children};

/// Values in each fact a rule can read, the bound on any collection taken from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FactSizes {
    user: u64,
    item: u64,
    request: u64,
}

impl FactSizes {
    /// What a rule is checked against when saved, before any real facts exist.
    pub(crate) const ASSUMED: Self = Self {
        user: ASSUMED_FACT_VALUES,
        item: ASSUMED_FACT_VALUES,
        request: ASSUMED_FACT_VALUES,
    };

    pub(crate) fn of(user: &Value, item: &Value, request: &Value) -> Self {
        Self {
            user: values_in(user),
            item: values_in(item),
            request: values_in(request),
        }
    }

    fn of_variable(&self, name: &str) -> u64 {
        match name {
            "user" => self.user,
            "item" => self.item,
            "request" => self.request,
            // Anything else is unbound and fails to evaluate.
            _ => 1,
        }
    }
}

fn values_in(value: &Value) -> u64 {
    let nested: u64 = match value {
        Value::Array(items) => items.iter().map(values_in).fold(0, u64::saturating_add),
        Value::Object(map) => map.values().map(values_in).fold(0, u64::saturating_add),
        _ => 0,
    };
    nested.saturating_add(1)
}

#[derive(Clone, Copy)]
struct Bound {
    size: u64,
    cost: u64,
}

/// Variables a comprehension binds, innermost last, with the size bound of their values.
struct Scope<'a> {
    facts: &'a FactSizes,
    bound: Vec<(&'a str, u64)>,
}

impl Scope<'_> {
    fn size_of(&self, name: &str) -> u64 {
        self.bound
            .iter()
            .rev()
            .find(|(bound, _)| *bound == name)
            .map_or_else(|| self.facts.of_variable(name), |(_, size)| *size)
    }
}

/// The estimated cost of evaluating `expr` against facts of `sizes`. Callers bound the tree's depth first: this
/// recurses once per level.
pub(crate) fn estimate(expr: &IdedExpr, sizes: &FactSizes) -> Result<u64, String> {
    let mut scope = Scope {
        facts: sizes,
        bound: Vec::new(),
    };
    bound(expr, &mut scope).map(|b| b.cost)
}

fn bound<'a>(expr: &'a IdedExpr, scope: &mut Scope<'a>) -> Result<Bound, String> {
    match &expr.expr {
        Expr::Ident(name) => Ok(Bound {
            size: scope.size_of(name),
            cost: 1,
        }),
        Expr::Comprehension(c) => comprehension(c, scope),
        Expr::Call(call) => {
            if call.func_name == "matches" {
                // The interpreter compiles the pattern on every call, with no size limit: a 20-character pattern
                // can take over a second.
                return Err("matches() is not supported in rules".to_string());
            }
            let args = children(expr)
                .into_iter()
                .map(|arg| bound(arg, scope))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(call_bound(&call.func_name, call_accumulates(expr), &args))
        }
        _ => {
            let parts = children(expr)
                .into_iter()
                .map(|part| bound(part, scope))
                .collect::<Result<Vec<_>, _>>()?;
            // A literal, a selection (no larger than what it selects from) or a list, map or struct of the parts.
            Ok(Bound {
                size: sum(parts.iter().map(|p| p.size)).saturating_add(1),
                cost: sum(parts.iter().map(|p| p.cost)).saturating_add(1),
            })
        }
    }
}

/// Whether a call is `@result + [...]`, the append step of `map` and `filter`, which the interpreter does in
/// place rather than by copying the accumulator (elements are shared, not copied). `@result` cannot be written in CEL source.
fn call_accumulates(expr: &IdedExpr) -> bool {
    matches!(&expr.expr, Expr::Call(call)
        if call.func_name == operators::ADD
            && matches!(call.args.first().map(|a| &a.expr), Some(Expr::Ident(name)) if name.starts_with('@')))
}

fn call_bound(func: &str, accumulates: bool, args: &[Bound]) -> Bound {
    let work = sum(args.iter().map(|a| a.cost)).saturating_add(1);
    let sizes = sum(args.iter().map(|a| a.size));
    let first = args.first().map_or(1, |a| a.size);
    match func {
        operators::ADD => {
            // Concatenation copies both sides; an in-place append adds one element.
            let copied = if accumulates { 1 } else { sizes };
            Bound {
                size: sizes,
                cost: work.saturating_add(copied),
            }
        }
        operators::CONDITIONAL => Bound {
            size: args.iter().skip(1).map(|a| a.size).max().unwrap_or(1),
            cost: work,
        },
        // A part of a collection is no larger than the collection.
        operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT => Bound {
            size: first,
            cost: work,
        },
        // Membership scans the collection; equality compares at most the smaller side.
        operators::IN => Bound {
            size: 1,
            cost: work.saturating_add(args.get(1).map_or(0, |a| a.size)),
        },
        operators::EQUALS | operators::NOT_EQUALS => Bound {
            size: 1,
            cost: work.saturating_add(args.iter().map(|a| a.size).min().unwrap_or(0)),
        },
        operators::LOGICAL_AND
        | operators::LOGICAL_OR
        | operators::LOGICAL_NOT
        | operators::NOT_STRICTLY_FALSE
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS => Bound {
            size: 1,
            cost: work,
        },
        // The standard functions (size, contains, startsWith, conversions, ...) do constant work per call on
        // collections; a result is assumed as large as the arguments together.
        _ => Bound {
            size: sizes.max(1),
            cost: work,
        },
    }
}

fn comprehension<'a>(c: &'a ComprehensionExpr, scope: &mut Scope<'a>) -> Result<Bound, String> {
    let range = bound(&c.iter_range, scope)?;
    let init = bound(&c.accu_init, scope)?;
    let iterations = range.size;
    let mark = scope.bound.len();
    scope.bound.push((c.iter_var.as_str(), range.size));
    if let Some(var) = &c.iter_var2 {
        scope.bound.push((var.as_str(), range.size));
    }
    // The accumulator grows by at most what one step adds to an empty one, on every iteration.
    scope.bound.push((c.accu_var.as_str(), 0));
    let growth = bound(&c.loop_step, scope)?.size;
    let accumulated = init.size.saturating_add(iterations.saturating_mul(growth));
    scope.bound.pop();
    scope.bound.push((c.accu_var.as_str(), accumulated));
    let step = bound(&c.loop_step, scope)?;
    let condition = bound(&c.loop_cond, scope)?;
    let result = bound(&c.result, scope)?;
    scope.bound.truncate(mark);
    let per_iteration = step.cost.saturating_add(condition.cost);
    Ok(Bound {
        size: result.size,
        cost: sum([
            range.cost,
            init.cost,
            iterations.saturating_mul(per_iteration),
            result.cost,
        ]),
    })
}

fn sum(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0, u64::saturating_add)
}
