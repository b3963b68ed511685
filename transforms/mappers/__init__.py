"""One mapper module per captured source table; importing this package registers them all."""

from transforms.mappers import (  # noqa: F401  (imported for their @mapper registrations)
    erp_f4101,
    erp_f4211,
    erp_f4311,
    erp_f41002,
    erp_f41021,
    erp_f42119,
    erp_f43121,
    wms_itrn,
    wms_loc,
    wms_lotattribute,
    wms_lotxlocxid,
    wms_orders,
    wms_pickdetail,
    wms_receiptdetail,
    wms_zz_temp_log,
)
