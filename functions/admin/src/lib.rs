//! Administration HTTP API: catalog, license pools, identities, audit verification, and the reports admins and
//! auditors read (compliance findings, chargeback, fulfilment metrics), access review campaigns, and the usage
//! signals connectors report.

use provisio_core::names::routes;
use provisio_core::ports::Ports;
use provisio_core::usecases::{admin, findings, reports, reviews, usage};
use provisio_lambda::api::{ApiRequest, ApiResponse, CSV, respond, unknown_route};

pub const ROUTES: &[&str] = routes::ADMIN;

#[tracing::instrument(skip_all, fields(route = %req.route))]
pub async fn handle(p: &Ports, req: ApiRequest) -> ApiResponse {
    let caller = match req.caller() {
        Ok(c) => c.clone(),
        Err(e) => return ApiResponse::problem(&e),
    };
    match req.route.as_str() {
        "PUT /admin/catalog/{itemId}" => respond(
            200,
            async {
                admin::require_admin(&caller)?;
                admin::put_item(p, &caller, req.id_param("itemId")?, req.json()?).await
            }
            .await,
        ),
        "PUT /admin/licenses/{poolId}" => respond(
            200,
            async {
                admin::require_admin(&caller)?;
                admin::put_pool(p, &caller, req.id_param("poolId")?, req.json()?).await
            }
            .await,
        ),
        "GET /admin/licenses/{poolId}" => respond(
            200,
            async { admin::get_pool(p, &caller, req.param("poolId")?).await }.await,
        ),
        "GET /admin/audit/verify" => respond(200, admin::verify_audit(p, &caller).await),
        "GET /admin/identities" => {
            let limit = req.query.get("limit").and_then(|l| l.parse().ok());
            respond(
                200,
                admin::list_identities(
                    p,
                    &caller,
                    req.query.get("cursor").map(String::as_str),
                    limit,
                )
                .await,
            )
        }
        "GET /admin/identities/{employeeId}" => respond(
            200,
            async { admin::get_identity(p, &caller, req.param("employeeId")?).await }.await,
        ),
        "GET /reports/findings" => respond(
            200,
            findings::list(
                p,
                &caller,
                req.query.get("kind").map(String::as_str),
                req.query.get("status").map(String::as_str),
            )
            .await
            .map(|items| serde_json::json!({"items": items})),
        ),
        "GET /reports/chargeback" => {
            let month = req.query.get("month").map(String::as_str);
            match reports::chargeback(p, &caller, month).await {
                Ok(report) if req.prefers(CSV) => ApiResponse::csv(200, report.to_csv())
                    .with_header(
                        "content-disposition",
                        format!("attachment; filename=\"chargeback-{}.csv\"", report.month),
                    ),
                result => respond(200, result),
            }
            .with_header("vary", "accept")
        }
        "GET /reports/fulfilment" => {
            let bound = |name: &str| req.query.get(name).map(String::as_str);
            respond(
                200,
                reports::fulfilment(p, &caller, bound("from"), bound("to")).await,
            )
        }
        "POST /admin/reviews/campaigns" => respond(
            201,
            async {
                admin::require_admin(&caller)?;
                reviews::start_on_demand(p, &caller, req.json_or_default()?).await
            }
            .await,
        ),
        "GET /admin/reviews/campaigns/{campaignId}" => respond(
            200,
            async { reviews::report(p, &caller, req.param("campaignId")?).await }.await,
        ),
        "POST /usage" => respond(
            200,
            async {
                usage::require_reporter(&caller)?;
                usage::record(p, &caller, req.json()?).await
            }
            .await,
        ),
        _ => unknown_route(&req),
    }
}
