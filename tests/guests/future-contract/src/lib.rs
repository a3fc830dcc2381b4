//! A component exporting `grafana:plugin/data` of a future contract
//! version (9.0.0): the host must refuse it, naming both versions.

wit_bindgen::generate!({
    inline: "
        package grafana:plugin@9.0.0;
        interface data {
            query-data: func(request: list<u8>) -> list<u8>;
        }
        world future-contract {
            export data;
        }
    ",
});

struct Future;

impl exports::grafana::plugin::data::Guest for Future {
    fn query_data(request: Vec<u8>) -> Vec<u8> {
        request
    }
}

export!(Future);
