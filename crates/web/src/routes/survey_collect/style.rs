//! The respondent form's stylesheet (phone first, large tap targets, no script), served
//! without a session.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The respondent form's own small stylesheet: phone first, large tap targets, no script.
const SURVEY_CSS: &str = "\
*{box-sizing:border-box}
body.survey{margin:0;font-family:Roboto,\"Noto Sans\",Arial,sans-serif;font-size:17px;line-height:1.45;color:#1b1f24;background:#f5f6f8}
.survey header{background:#003a70;color:#fff;padding:10px 14px;font-size:15px}
.survey main{max-width:640px;margin:0 auto;padding:12px;background:#fff;min-height:80vh}
.survey h1{font-size:21px;margin:6px 0 12px}
.unit-block h2{font-size:18px;margin:18px 0 6px;padding:6px 8px;background:#e4e9f0;border-radius:4px}
fieldset.question{border:1px solid #d5dbe3;border-radius:6px;margin:10px 0;padding:8px 10px;max-width:640px}
fieldset.question.missing{border:2px solid #b3261e;background:#fff5f4}
fieldset.question legend{font-weight:600;padding:0 4px}
label.opt{display:flex;align-items:center;gap:10px;min-height:48px;padding:8px 10px;margin:4px 0;border:1px solid #c9d1dc;border-radius:6px;background:#fafbfc;cursor:pointer;font-weight:normal}
label.opt input{width:24px;height:24px;margin:0;flex:none}
label.opt.dk{color:#5f6b7a}
label.opt input:checked+span{font-weight:700}
.paper-form label.opt{min-height:0;padding:4px 8px;display:inline-flex;margin:2px 6px 2px 0}
.survey .buttons{display:flex;flex-direction:column;gap:10px;margin:18px 0}
.survey button{font:inherit;min-height:52px;padding:10px 14px;border-radius:6px;border:1px solid #0b57a4;background:#0b57a4;color:#fff;cursor:pointer}
.survey button.secondary{background:#fff;color:#0b57a4}
.survey .error{background:#fdecea;border:1px solid #e5a39d;padding:8px 10px;color:#8c1d18;border-radius:4px}
.survey .notice{background:#e7f4ea;border:1px solid #9bcfa6;padding:8px 10px;border-radius:4px}
.survey .hint{color:#5f6b7a;font-size:15px}
@media (min-width:700px){.survey .buttons{flex-direction:row}}
ol.qr-cards{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(60mm,1fr));gap:6mm}
li.qr-card{border:1px dashed #9aa6b4;padding:4mm;text-align:center;break-inside:avoid;page-break-inside:avoid}
li.qr-card svg{width:40mm;height:40mm}
code.survey-link{font-size:10px;word-break:break-all}
@media print{ol.qr-cards{grid-template-columns:repeat(3,1fr)}}
";

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SURVEY_CSS,
    )
        .into_response()
}
