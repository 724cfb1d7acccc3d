//! One CFX envelope as one AMQP 1.0 message, the way the CFX SDK sends it
//! (CFX/Transport/AmqpUtilities.cs): the envelope's UTF-8 JSON in one data section,
//! durable; message-id = UniqueID, content-type `application/json; charset="utf-8"`,
//! creation-time = TimeStamp, reply-to = the handle, subject = `{handle}.{MessageName}`;
//! application properties cfx-topic, cfx-message, cfx-handle.

use fe2o3_amqp::types::messaging::{ApplicationProperties, Data, Header, Message, Properties};
use fe2o3_amqp::types::primitives::Timestamp;

use crate::export::cfx::CfxMessage;

pub const CONTENT_TYPE: &str = "application/json; charset=\"utf-8\"";

pub fn message(m: &CfxMessage, handle: &str) -> Message<Data> {
    Message::builder()
        .header(Header::builder().durable(true).build())
        .properties(
            Properties::builder()
                .message_id(m.unique_id.clone())
                .reply_to(handle.to_string())
                .subject(format!("{handle}.{}", m.name))
                .content_type(CONTENT_TYPE)
                .creation_time(Timestamp::from_milliseconds(m.time.timestamp_millis()))
                .build(),
        )
        .application_properties(
            ApplicationProperties::builder()
                .insert("cfx-topic", m.topic())
                .insert("cfx-message", m.name)
                .insert("cfx-handle", handle)
                .build(),
        )
        .data(m.json.as_bytes().to_vec())
        .build()
}
