//! A token endpoint's answer body: normalised then decoded, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oauth2_api::__private::fuzz::token_answer(data);
});
