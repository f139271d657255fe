//! Fulfilment steps on seats: reserve, commit (and close as FULFILLED), release (and close with the caught error).

use provisio_core::Result;
use provisio_core::model::RequestStatus;
use provisio_core::ports::Ports;
use provisio_core::usecases::fulfilment::{self, Close};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Input {
    #[serde(rename_all = "camelCase")]
    Reserve {
        request_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Commit {
        request_id: String,
    },
    Release(Close),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
}

#[tracing::instrument(skip_all)]
pub async fn handle(p: &Ports, input: Input) -> Result<Output> {
    match input {
        Input::Reserve { request_id } => {
            let pools = fulfilment::reserve_seats(p, &request_id).await?;
            Ok(Output {
                request_id,
                status: None,
                pools,
            })
        }
        Input::Commit { request_id } => {
            fulfilment::commit(p, &request_id).await?;
            Ok(Output {
                request_id,
                status: Some(RequestStatus::Fulfilled),
                pools: vec![],
            })
        }
        Input::Release(close) => {
            let status = fulfilment::close(p, &close).await?;
            Ok(Output {
                request_id: close.request_id,
                status: Some(status),
                pools: vec![],
            })
        }
    }
}
