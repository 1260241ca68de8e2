# syntax=docker/dockerfile:1
# Felix Server: build with the SDK, run on the ASP.NET Core runtime image as its non-root "app" user.
#   docker build -t felix-server .
#   docker run -p 8080:8080 -v felix-data:/data -e FELIX_API_KEY=... felix-server
# See docs/deployment.md (not built here: no container runtime on the machine this was written on).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the restore layer is reused while only code changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Felix.Contracts/Felix.Contracts.csproj Felix.Contracts/
COPY Felix.Server/Felix.Server.csproj Felix.Server/
RUN dotnet restore Felix.Server/Felix.Server.csproj
COPY Felix.Contracts/ Felix.Contracts/
COPY Felix.Server/ Felix.Server/
# The dashboard is published as wwwroot from clients/web (Felix.Server.csproj links it).
COPY clients/web/ clients/web/
RUN dotnet publish Felix.Server/Felix.Server.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
# The store's directory, owned by the image's non-root user so a fresh named volume is writable.
RUN mkdir /data && chown app:app /data
COPY --from=build /app .
USER app
# Urls (not ASPNETCORE_HTTP_PORTS): appsettings.json sets Urls for local runs, and an environment variable overrides it.
ENV Urls=http://+:8080 \
    Felix__Storage__DataDirectory=/data
EXPOSE 8080
VOLUME /data
# The runtime image has no curl or wget: bash's /dev/tcp asks /health/ready (503 while not ready, 200 when Healthy or Degraded).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Felix.Server.dll"]
