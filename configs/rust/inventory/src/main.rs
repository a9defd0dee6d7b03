// A Cargo project with a dependency from Debian's archive: parses a JSON
// inventory with serde_json and prints it item by item.
use serde_json::Value;

const INVENTORY: &str = r#"{
  "items": [
    {"name": "apples", "count": 3},
    {"name": "pears", "count": 5},
    {"name": "plums", "count": 8}
  ]
}"#;

fn main() {
    let inventory: Value = serde_json::from_str(INVENTORY).expect("valid JSON");
    let items = inventory["items"].as_array().expect("an items array");
    let mut total = 0;
    for item in items {
        let count = item["count"].as_u64().unwrap_or(0);
        total += count;
        println!("{}: {}", item["name"].as_str().unwrap_or("?"), count);
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    println!("{}", serde_json::json!({ "total": total }));
}
