# `cmake --install` puts headers, the static libraries and a package config in place, so another
# CMake project writes find_package(seqgrad) and links seqgrad::seqgrad.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS seqgrad seqgrad_options seqgrad_graph seqgrad_ops seqgrad_autodiff seqgrad_nn seqgrad_seq2seq seqgrad_pictures
  EXPORT seqgradTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set_target_properties(seqgrad_options PROPERTIES EXPORT_NAME options)
foreach(layer graph ops autodiff nn nn/seq2seq nn/pictures)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(EXPORT seqgradTargets NAMESPACE seqgrad:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seqgrad)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/seqgradConfig.cmake.in
  ${CMAKE_BINARY_DIR}/seqgradConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seqgrad)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/seqgradConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/seqgradConfig.cmake ${CMAKE_BINARY_DIR}/seqgradConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seqgrad)
