"""``python -m demo.site_d [OUT_DIR]``: write the synthetic site_d workbook."""
from harmonise.demo.site_d import main

main()
