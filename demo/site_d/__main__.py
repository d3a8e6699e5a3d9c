"""``python -m demo.site_d [OUT_DIR]``: write the synthetic site_d workbook."""
from demo.site_d import main

main()
