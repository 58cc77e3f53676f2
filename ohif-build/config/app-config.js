/** NeuroNova viewer configuration (OHIF 3.13). Served with no-cache; the build fills in the
 * placeholders with the hashed extension/mode URLs. */
(function () {
  var base = '__BASE_PATH__';

  // 401 from any DICOMweb / image request: the portal session is gone; log in again and come back.
  function toPortalLogin() {
    if (window.__neuronovaRedirecting) return;
    window.__neuronovaRedirecting = true;
    var next = window.location.pathname + window.location.search;
    window.location.assign('/login?expired=1&next=' + encodeURIComponent(next));
  }
  window.__neuronovaToPortalLogin = toPortalLogin;

  window.config = {
    name: 'neuronova',
    routerBasename: base,
    extensions: ['__NEURONOVA_EXTENSION_URL__'],
    modes: ['__NEURONOVA_MODE_URL__'],
    customizationService: {},
    whiteLabeling: {
      createLogoComponentFn: function (React) {
        return React.createElement(
          'a',
          { href: '/', style: { color: '#fff', fontWeight: 600, fontSize: '16px', textDecoration: 'none' } },
          'NeuroNova'
        );
      },
    },
    // The portal is the worklist; OHIF's own study list (/pacs-viewer/) searches the archive
    // through the same authorised QIDO (a clinician's answers hold only their patients).
    showStudyList: true,
    investigationalUseDialog: { option: 'never' },
    maxNumberOfWebWorkers: 2,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 10 },
    showErrorDetails: 'production',
    defaultDataSourceName: 'neuronova',
    // Frame loading (src/mode/retrieve.ts, applied when the mode starts): 'progressive' fetches a
    // displayed RPCL HTJ2K image as a first byte range of initialBytes, shown at the resolution
    // those bytes hold, then the rest; 'whole' is OHIF's default (one streamed request a frame).
    neuronova: { frames: 'progressive', initialBytes: 65536 },
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'neuronova',
        configuration: {
          friendlyName: 'NeuroNova PACS',
          name: 'neuronova',
          // Same origin: the portal's HttpOnly session cookie rides along; no token in a URL.
          qidoRoot: '/api/pacs/dicom-web',
          wadoRoot: '/api/pacs/dicom-web',
          wadoUriRoot: '/api/pacs/wado',
          qidoSupportsIncludeField: false,
          supportsReject: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          dicomUploadEnabled: false,
          // Frames: Accept transfer-syntax=* and the portal answers with the stored syntax in the
          // Content-Type (image/jphc; transfer-syntax=1.2.840.10008.1.2.4.202 for re-encoded MR).
          // How they are fetched (byte ranges first) is `neuronova.frames` below.
          requestTransferSyntaxUID: '*',
          singlepart: 'bulkdata,video',
          omitQuotationForMultipartRequest: true,
          bulkDataURI: { enabled: true, relativeResolution: 'studies' },
        },
      },
    ],
    httpErrorHandler: function (error) {
      var status = error && (error.status || (error.response && error.response.status));
      if (status === 401) {
        if (window.__neuronovaUnauthorized && !window.__neuronovaRefreshTried) {
          window.__neuronovaRefreshTried = true;
          window.__neuronovaUnauthorized();
        } else toPortalLogin();
      }
      else if (status === 403 && window.__neuronovaAccessDenied) window.__neuronovaAccessDenied();
    },
  };
})();
