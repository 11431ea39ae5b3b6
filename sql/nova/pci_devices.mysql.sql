-- MySQL: no ON CONFLICT and no UPDATE ... RETURNING: the upsert is ON DUPLICATE KEY UPDATE (the unique
-- key (compute_node_id, address, deleted) is the table's only one besides the id), and the device is
-- read back in the same transaction by its live key.

-- name: device_upsert
-- Create the node's live device at an address, or (a live one exists, a concurrent creator's
-- included) change the given columns of it (a column whose :set_ flag is false keeps its value).
INSERT INTO pci_devices (compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label, status,
                         extra_info, instance_uuid, request_id, numa_node, parent_addr, created_at, updated_at,
                         deleted)
VALUES (:node_id, :address, :product_id, :vendor_id, :dev_type, :dev_id, :label, :status,
        :extra_info, :instance_uuid, :request_id, :numa_node, :parent_addr, :created_at, :updated_at, 0)
ON DUPLICATE KEY UPDATE
    product_id = IF(:set_product_id, :product_id, product_id),
    vendor_id = IF(:set_vendor_id, :vendor_id, vendor_id),
    dev_type = IF(:set_dev_type, :dev_type, dev_type),
    dev_id = IF(:set_dev_id, :dev_id, dev_id),
    label = IF(:set_label, :label, label),
    status = IF(:set_status, :status, status),
    extra_info = IF(:set_extra_info, :extra_info, extra_info),
    instance_uuid = IF(:set_instance_uuid, :instance_uuid, instance_uuid),
    request_id = IF(:set_request_id, :request_id, request_id),
    numa_node = IF(:set_numa_node, :numa_node, numa_node),
    parent_addr = IF(:set_parent_addr, :parent_addr, parent_addr),
    created_at = IF(:set_created_at, :created_at, created_at),
    updated_at = :changed_at

-- name: device_update
-- Change the given columns of a node's live device at an address (a column whose :set_ flag is false
-- keeps its value) and set updated_at.
UPDATE pci_devices
SET product_id = CASE WHEN :set_product_id THEN :product_id ELSE product_id END,
    vendor_id = CASE WHEN :set_vendor_id THEN :vendor_id ELSE vendor_id END,
    dev_type = CASE WHEN :set_dev_type THEN :dev_type ELSE dev_type END,
    dev_id = CASE WHEN :set_dev_id THEN :dev_id ELSE dev_id END,
    label = CASE WHEN :set_label THEN :label ELSE label END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    extra_info = CASE WHEN :set_extra_info THEN :extra_info ELSE extra_info END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    request_id = CASE WHEN :set_request_id THEN :request_id ELSE request_id END,
    numa_node = CASE WHEN :set_numa_node THEN :numa_node ELSE numa_node END,
    parent_addr = CASE WHEN :set_parent_addr THEN :parent_addr ELSE parent_addr END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :changed_at
WHERE compute_node_id = :node_id AND address = :address AND deleted = 0
