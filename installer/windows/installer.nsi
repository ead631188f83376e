; Dispatcher HMI, 64-bit per-machine installer. Built by installer/build with
;   makensis -XTarget amd64-unicode -X"SetCompressor /FINAL ..." -DVERSION=... -DOUTFILE=...
; from the layout pynsist prepared beside this file (Python\, pkgs\, bin\, *.launch.pyw).
;
; Silent:     setup.exe /S [/D=C:\path]          (the /D option must come last)
; Uninstall:  "%ProgramFiles%\Dispatcher HMI\uninstall.exe" /S
;
; The editable configuration goes to %ProgramData%\DispatcherHMI\{config,lines,timetables}:
; written only when a file is not there yet, so an upgrade keeps the site's
; edits, and left in place by the uninstaller (see docs/install.md).

!ifndef VERSION
  !error "makensis -DVERSION=x.y.z"
!endif
!ifndef OUTFILE
  !error "makensis -DOUTFILE=path"
!endif

!define PRODUCT "Dispatcher HMI"
!define PRODUCT_ID "DispatcherHMI"
!define PUBLISHER "Dispatcher workstation project"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT_ID}"
!define ICON "glossyorb.ico"

Unicode true
ManifestDPIAware true
RequestExecutionLevel admin
Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
InstallDirRegKey HKLM "${UNINSTALL_KEY}" "InstallLocation"
ShowInstDetails show
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${PRODUCT} ${VERSION} setup"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!include "MUI2.nsh"
!include "x64.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

!define MUI_ABORTWARNING
!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${PRODUCT} needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "Program" sec_program
  SectionIn RO
  ; An upgrade replaces the program whole: nothing of the old version lingers.
  RMDir /r "$INSTDIR\Python"
  RMDir /r "$INSTDIR\pkgs"
  RMDir /r "$INSTDIR\bin"

  SetOverwrite on
  SetOutPath "$INSTDIR"
  File "${ICON}"
  File "*.launch.pyw"
  File /r "Python"
  File /r "pkgs"
  File /r "bin"

  ; The machine's configuration: copied once, never overwritten, editable by Users.
  SetOverwrite off
  SetOutPath "$APPDATA\${PRODUCT_ID}\config"
  File "pkgs\resources\config\workstation.yaml"
  SetOutPath "$APPDATA\${PRODUCT_ID}\lines"
  File "pkgs\resources\lines\*.yaml"
  SetOutPath "$APPDATA\${PRODUCT_ID}\timetables"
  File "pkgs\resources\timetables\*.yaml"
  SetOverwrite on
  ; BUILTIN\Users (S-1-5-32-545): modify, inherited by what is created inside.
  nsExec::ExecToLog 'icacls "$APPDATA\${PRODUCT_ID}" /grant *S-1-5-32-545:(OI)(CI)M /T /Q'
  Pop $0

  ; Start menu: the workstation (configured servers) and the demo (embedded simulator).
  SetOutPath "$INSTDIR"
  CreateDirectory "$SMPROGRAMS\${PRODUCT}"
  CreateShortCut "$SMPROGRAMS\${PRODUCT}\${PRODUCT}.lnk" "$INSTDIR\Python\pythonw.exe" \
    '"$INSTDIR\Dispatcher_HMI.launch.pyw"' "$INSTDIR\${ICON}"
  CreateShortCut "$SMPROGRAMS\${PRODUCT}\${PRODUCT} demo.lnk" "$INSTDIR\Python\pythonw.exe" \
    '"$INSTDIR\Dispatcher_HMI_demo.launch.pyw"' "$INSTDIR\${ICON}"
  CreateShortCut "$SMPROGRAMS\${PRODUCT}\Configuration folder.lnk" "$APPDATA\${PRODUCT_ID}"
  CreateShortCut "$SMPROGRAMS\${PRODUCT}\Uninstall ${PRODUCT}.lnk" "$INSTDIR\uninstall.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${ICON}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "Uninstall"
  RMDir /r "$SMPROGRAMS\${PRODUCT}"
  RMDir /r "$INSTDIR\Python"
  RMDir /r "$INSTDIR\pkgs"
  RMDir /r "$INSTDIR\bin"
  Delete "$INSTDIR\*.launch.pyw"
  Delete "$INSTDIR\${ICON}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  ; %ProgramData%\DispatcherHMI (the site's configuration) stays: see docs/install.md.
SectionEnd
