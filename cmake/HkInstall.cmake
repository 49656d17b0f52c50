# `cmake --install BUILD --prefix P` (issue 17): a prefix that works on its own, without the
# source tree, in the layout environment modules expect:
#   P/bin/                 hk, hk-kernel, hk probe's helpers (hk finds them next to itself)
#   P/share/hybridkit/     hk_plot.py and the modules it imports, hk_probe_python.py, the Slurm
#                          batch scripts (hk finds them at <its directory>/../share/hybridkit)
#   P/share/doc/hybridkit/ README.md and docs/
include(GNUInstallDirs)
set(HK_INSTALL_SHARE_DIR ${CMAKE_INSTALL_DATADIR}/hybridkit)

install(TARGETS hk hk-kernel hk-probe-mpi hk-probe-true RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS scripts/hk_plot.py DESTINATION ${HK_INSTALL_SHARE_DIR})
install(FILES scripts/hk_records.py scripts/hk_export.py drivers/probe/hk_probe_python.py
        DESTINATION ${HK_INSTALL_SHARE_DIR})
install(FILES slurm/run.sbatch slurm/sweep.sbatch slurm/array.sbatch DESTINATION ${HK_INSTALL_SHARE_DIR}/slurm)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
