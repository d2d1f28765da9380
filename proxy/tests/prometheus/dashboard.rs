//! The Grafana dashboard's PromQL: every target of every panel, with Grafana's template
//! variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) and its built-in interval
//! variables substituted as Grafana would for a Prometheus that scrapes every second.

use std::collections::BTreeMap;

use serde_json::Value;

/// One query of one panel, after substitution.
#[derive(Debug, Clone)]
pub struct Target {
    pub panel: String,
    pub ref_id: String,
    pub raw: String,
    pub expr: String,
}

/// Grafana's built-ins for a 1 s scrape interval and the dashboard's 1 h range:
/// `$__rate_interval` = max(`$__interval` + scrape interval, 4 × scrape interval).
fn builtins() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("__rate_interval", "4s"),
        ("__interval", "1s"),
        ("__interval_ms", "1000"),
        ("__range", "1h"),
        ("__range_s", "3600"),
        ("__range_ms", "3600000"),
    ])
}

/// The dashboard's variables with the value Grafana would use by default: `current`
/// (All: `allValue`, else every value as a regex). Data source variables select the data
/// source, not a value in a query: left out.
pub fn variables(dash: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let Some(name) = v["name"].as_str() else {
            continue;
        };
        if v["type"] == "datasource" {
            continue;
        }
        let all = || v["allValue"].as_str().unwrap_or(".*").to_string();
        let current = &v["current"]["value"];
        let value = match current {
            Value::String(s) if s == "$__all" => all(),
            Value::String(s) => s.clone(),
            Value::Array(a) if a.iter().any(|x| x == "$__all") => all(),
            Value::Array(a) => {
                let vs: Vec<&str> = a.iter().filter_map(|x| x.as_str()).collect();
                format!("({})", vs.join("|"))
            }
            _ => all(),
        };
        vars.insert(name.to_string(), value);
    }
    vars
}

/// `expr` with every variable replaced; Err names one Grafana would not know.
pub fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let builtins = builtins();
    let lookup = |name: &str| -> Result<String, String> {
        builtins
            .get(name)
            .map(|v| v.to_string())
            .or_else(|| vars.get(name).cloned())
            .ok_or_else(|| format!("unknown template variable ${name} in {expr}"))
    };
    let word = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut out = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(inner) = tail.strip_prefix("${") {
            let end = inner
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {expr}"))?;
            let name = inner[..end].split(':').next().unwrap_or("");
            out.push_str(&lookup(name)?);
            rest = &inner[end + 1..];
        } else if let Some(inner) = tail.strip_prefix("[[") {
            let end = inner
                .find("]]")
                .ok_or_else(|| format!("unclosed [[ in {expr}"))?;
            let name = inner[..end].split(':').next().unwrap_or("");
            out.push_str(&lookup(name)?);
            rest = &inner[end + 2..];
        } else if let Some(inner) = tail.strip_prefix('$') {
            let n = word(inner);
            if n == 0 {
                out.push('$'); // not a variable (a regex's end anchor): kept, as Grafana does
            } else {
                out.push_str(&lookup(&inner[..n])?);
            }
            rest = &inner[n..];
        } else {
            out.push('[');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Every query of every panel (rows' nested panels included), substituted.
pub fn targets(dash: &Value) -> Result<Vec<Target>, String> {
    let vars = variables(dash);
    let mut panels: Vec<&Value> = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        panels.push(p);
        panels.extend(p["panels"].as_array().into_iter().flatten());
    }
    let mut out = Vec::new();
    for p in panels {
        let title = p["title"].as_str().unwrap_or("(untitled)").to_string();
        for t in p["targets"].as_array().into_iter().flatten() {
            let Some(raw) = t["expr"].as_str() else {
                return Err(format!("panel {title:?}: a target without expr: {t}"));
            };
            out.push(Target {
                panel: title.clone(),
                ref_id: t["refId"].as_str().unwrap_or("?").to_string(),
                raw: raw.to_string(),
                expr: substitute(raw, &vars)?,
            });
        }
    }
    Ok(out)
}

#[test]
fn substitution_replaces_grafanas_variables_and_refuses_unknown_ones() {
    let vars = BTreeMap::from([("instance".to_string(), ".+".to_string())]);
    assert_eq!(
        substitute(r#"rate(x{instance=~"$instance"}[$__rate_interval])"#, &vars).as_deref(),
        Ok(r#"rate(x{instance=~".+"}[4s])"#)
    );
    assert_eq!(
        substitute("a{i=~\"${instance:regex}\"}[[instance]] [5m]", &vars).as_deref(),
        Ok("a{i=~\".+\"}.+ [5m]")
    );
    assert_eq!(
        substitute(r#"x{a=~"^b$"}"#, &vars).as_deref(),
        Ok(r#"x{a=~"^b$"}"#)
    );
    assert!(substitute("rate(x[$__rate_intervall])", &vars).is_err());
    assert!(substitute("x{a=\"$nope\"}", &vars).is_err());

    let dash: Value = serde_json::json!({
        "templating": {"list": [
            {"name": "DS", "type": "datasource"},
            {"name": "instance", "type": "query", "allValue": ".+",
             "current": {"value": "$__all"}},
            {"name": "code", "type": "custom", "current": {"value": ["1045", "1062"]}},
        ]},
        "panels": [{"title": "row", "panels": [
            {"title": "p", "targets": [{"refId": "A", "expr": "e{c=~\"$code\",i=~\"$instance\"}"}]}
        ]}]
    });
    let t = targets(&dash).expect("targets");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].expr, "e{c=~\"(1045|1062)\",i=~\".+\"}");
}
