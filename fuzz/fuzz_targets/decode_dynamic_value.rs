//! Feeds arbitrary bytes from "the wire" to the DynamicValue decoders with
//! every resource schema's type: any input must give a value or an error,
//! never a panic, and whatever decodes must encode and decode again to the
//! same value.
#![no_main]

use genesis::protocol::codec::{decode_json, decode_msgpack, encode_msgpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let resources = genesis::resources::all();
    let resource = &resources[usize::from(selector) % resources.len()];
    let ty = resource.schema().value_type();
    if let Ok(value) = decode_msgpack(bytes, &ty) {
        let again = decode_msgpack(&encode_msgpack(&value, &ty), &ty).expect("re-encoded value decodes");
        assert_eq!(again, value);
    }
    let _ = decode_json(bytes, &ty);
});
