@echo off
rem `cider` inside the installed desktop app: the app's own executable runs the bundled command line as Node.
setlocal
set ELECTRON_RUN_AS_NODE=1
"%~dp0..\..\cider-studio.exe" "%~dp0..\app.asar\bin\cider.mjs" %*
