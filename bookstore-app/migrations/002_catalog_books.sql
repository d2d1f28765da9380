-- catalog service: books and their stock
CREATE TABLE IF NOT EXISTS catalog_books (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner_id BIGINT UNSIGNED NOT NULL,
    owner_name VARCHAR(64) NOT NULL,
    title VARCHAR(200) NOT NULL,
    author VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    price_cents INT UNSIGNED NOT NULL,
    stock INT UNSIGNED NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    KEY idx_owner (owner_id),
    KEY idx_listed (deleted, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
